"""Scripted conversations: one test per file in scripts/*.xmpp.

conversation.py describes the script format and runs each script against
a server of its own.
"""

from conversation import conversation_tests

Conversations = conversation_tests()
