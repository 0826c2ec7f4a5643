// Rosters (RFC 6121 sections 2 and 3) with roster versioning (RFC 6121
// section 2.6, formerly XEP-0237), and the inbound subscription requests that
// wait for the user's approval.
//
// Users and contacts are bare JIDs as given: the caller normalises them.
//
// Versioning: each user has a roster version, a counter that every item
// change (put or remove) raises by one. Each item stores the version at which
// it last changed, and a removed item leaves a tombstone with its removal
// version, so changes_since() can list what changed after any version that
// a client still has. Tombstones are pruned when they fall more than the
// store's horizon of versions behind the current version; a client whose
// version is older than the newest pruned tombstone gets the full roster.
// Inbound subscription requests are not roster items (RFC 6121 section 3.1.3
// says the server does not add an item for them), so storing or clearing
// one does not change the roster version.
//
// Writes are not performed here. The make_* functions read the current state
// and return a write_batch that the caller commits through the writer actor
// (server) or lmdb_env::commit (starlingctl). Every item change carries a
// compare_and_set of the user's version record from `base_version` to the
// next version, so of two changes built from the same version only the first
// commits; the second fails with errc::value_mismatch (errc::already_exists
// for the first change of an empty roster) and the caller reads again and
// retries. Reads run directly on the calling thread. Implementations are
// thread-safe.
#pragma once

#include "store/status.hpp"
#include "store/write_batch.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace starling::store {

/// The subscription attribute of a roster item (RFC 6121 section 2.1.2).
enum class subscription : std::uint8_t {
  none = 0,
  to = 1,    ///< The user receives the contact's presence.
  from = 2,  ///< The contact receives the user's presence.
  both = 3,
};

/// One roster item. The "remove" subscription of a roster set is not a state:
/// removal deletes the item and leaves a tombstone.
struct roster_item {
  std::string contact;               ///< Normalised bare JID; the key of the item.
  std::optional<std::string> name;
  std::set<std::string> groups;      ///< No empty names (RFC 6121 section 2.3.3).
  store::subscription subscription = store::subscription::none;
  bool pending_out = false;          ///< ask='subscribe' (RFC 6121 section 2.1.2).
  bool approved = false;             ///< Pre-approved (RFC 6121 section 3.4).
  std::uint64_t version = 0;         ///< Set by reads: the roster version of the last change.

  bool operator==(const roster_item&) const = default;
};

/// A tombstone: the contact whose item was removed at `version`.
struct roster_removal {
  std::string contact;
  std::uint64_t version = 0;

  bool operator==(const roster_removal&) const = default;
};

/// A whole roster as of `version`, items in byte order of the contact.
struct roster_snapshot {
  std::uint64_t version = 0;  ///< 0 for a user who never had an item.
  std::vector<roster_item> items;
};

/// One item lookup together with the roster version it was read at, which is
/// the base_version for a change built from it.
struct roster_item_lookup {
  std::uint64_t version = 0;
  std::optional<roster_item> item;
};

/// Kind of result of changes_since (RFC 6121 section 2.6).
enum class roster_sync : std::uint8_t {
  up_to_date,  ///< Nothing changed: answer with an empty result.
  changes,     ///< Send `changed` and `removed` as roster pushes.
  full,        ///< The version is unknown or too old: `changed` is the whole roster.
};

struct roster_changes {
  roster_sync kind = roster_sync::up_to_date;
  std::uint64_t version = 0;                ///< Current roster version.
  std::vector<roster_item> changed;         ///< In byte order of the contact.
  std::vector<roster_removal> removed;      ///< Empty when kind is full.
};

/// An inbound subscription request that waits for the user's approval
/// (pending in, RFC 6121 section 3.1.3), kept to re-deliver it at login.
struct pending_subscription {
  std::string contact;
  std::string stanza;  ///< The original presence stanza, serialized XML.
  std::chrono::system_clock::time_point received;  ///< Microsecond precision.

  bool operator==(const pending_subscription&) const = default;
};

class roster_store {
public:
  virtual ~roster_store() = default;

  // -- reads ------------------------------------------------------------------

  /// Reads the whole roster. errc::corrupt names the first damaged record.
  virtual expected<roster_snapshot> roster(std::string_view user) = 0;

  /// Reads one item and the roster version; `item` is empty when the contact
  /// is not in the roster.
  virtual expected<roster_item_lookup> find_item(std::string_view user,
                                                 std::string_view contact) = 0;

  /// Lists what changed after version `since`. The result is up_to_date when
  /// `since` is the current version, and changes when every removal after
  /// `since` still has its tombstone. It is the full roster when `since` is
  /// older than the newest pruned tombstone or newer than the current version.
  virtual expected<roster_changes> changes_since(std::string_view user,
                                                 std::uint64_t since) = 0;

  /// Reads the stored inbound request from `contact`, if any.
  virtual expected<std::optional<pending_subscription>> find_pending(
    std::string_view user, std::string_view contact) = 0;

  /// Lists all stored inbound requests, in byte order of the contact.
  virtual expected<std::vector<pending_subscription>> pending(std::string_view user) = 0;

  // -- batches ----------------------------------------------------------------

  /// Returns a batch that inserts or replaces `item` at version
  /// base_version + 1 and removes a tombstone of the same contact. Fails now
  /// with errc::invalid_argument for an empty or too long user or contact, a
  /// NUL byte in either, or an empty group name, and with
  /// errc::value_mismatch when the roster is no longer at `base_version`.
  virtual expected<write_batch> make_put_item(std::string_view user, const roster_item& item,
                                              std::uint64_t base_version) = 0;

  /// Returns a batch that deletes the item of `contact` and leaves a
  /// tombstone at version base_version + 1. Fails now with errc::not_found
  /// when there is no such item, and like make_put_item otherwise.
  virtual expected<write_batch> make_remove_item(std::string_view user,
                                                 std::string_view contact,
                                                 std::uint64_t base_version) = 0;

  /// Returns a batch that stores the inbound request from `contact`,
  /// replacing an earlier one, so the newest request is re-delivered.
  virtual expected<write_batch> make_put_pending(std::string_view user,
                                                 const pending_subscription& request) = 0;

  /// Returns a batch that deletes the inbound request from `contact`; a
  /// missing request is not an error.
  virtual expected<write_batch> make_clear_pending(std::string_view user,
                                                   std::string_view contact) = 0;

  /// Returns a batch that deletes the user's items, tombstones, version and
  /// inbound requests (account removal). Committing it fails with
  /// errc::value_mismatch or errc::already_exists when the roster changed
  /// after this call.
  virtual expected<write_batch> make_remove_user(std::string_view user) = 0;
};

} // namespace starling::store
