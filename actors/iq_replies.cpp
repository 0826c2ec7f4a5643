#include "actors/iq_replies.hpp"

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "protocol/xml/namespaces.hpp"

namespace starling::actors {

xml::element result_for(const xml::element& iq) {
  xml::element response{"iq", std::string{xml::ns::client}};
  response.set_attr("type", "result");
  if (auto id = iq.attr("id"))
    response.set_attr("id", std::string{*id});
  if (auto to = iq.attr("to"))
    response.set_attr("from", std::string{*to});
  if (auto from = iq.attr("from"))
    response.set_attr("to", std::string{*from});
  return response;
}

void reply(session_actor* self, xml::element response) {
  self->send(self->state.connection, deliver_atom::value, std::move(response));
}

void fail(session_actor* self, const xml::element& iq, xml::stanza_error_condition condition) {
  reply(self, xml::make_error_reply(iq, condition));
}

} // namespace starling::actors
