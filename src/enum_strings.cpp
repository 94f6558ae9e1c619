// The string forms of the public enums: the reference's WebIDL enum values and event types.
#include "tcpsocket/events.hpp"
#include "tcpsocket/options.hpp"

namespace tcpsocket {

std::string_view toString(BinaryType type) noexcept {
  return type == BinaryType::String ? "string" : "arraybuffer";
}

std::string_view toString(ReadyState state) noexcept {
  switch (state) {
    case ReadyState::Connecting:
      return "connecting";
    case ReadyState::Open:
      return "open";
    case ReadyState::Closing:
      return "closing";
    case ReadyState::Closed:
      return "closed";
  }
  return "closed";
}

std::string_view toString(SocketEventType type) noexcept {
  switch (type) {
    case SocketEventType::Open:
      return "open";
    case SocketEventType::Data:
      return "data";
    case SocketEventType::Drain:
      return "drain";
    case SocketEventType::Error:
      return "error";
    case SocketEventType::Close:
      return "close";
    case SocketEventType::End:
      return "end";
  }
  return "error";
}

std::string_view toString(ServerEventType type) noexcept {
  return type == ServerEventType::Connect ? "connect" : "error";
}

}  // namespace tcpsocket
