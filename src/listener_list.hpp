// An ordered list of event listeners, shared by TCPSocket and TCPServerSocket.
//
// It follows the DOM's EventTarget rules that matter to users: listeners run in the order they were
// added; a handler attribute (onopen = ...) keeps its place when replaced; a listener added during
// dispatch does not see the event being dispatched, and one removed during dispatch is not called.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace tcpsocket::detail {

template <class Event>
class ListenerList {
 public:
  using Handler = std::function<void(const Event&)>;

  std::uint64_t add(int type, Handler handler) {
    if (!handler) return 0;
    entries_.push_back(Entry{type, false, ++lastId_, share(std::move(handler))});
    return lastId_;
  }

  void remove(std::uint64_t id) {
    for (auto& e : entries_) {
      if (e.id == id && !e.attribute) e.handler = nullptr;
    }
    compact();
  }

  /// The `on<type> = handler` attribute: replaces in place, removes on nullptr, appends otherwise.
  void setAttribute(int type, Handler handler) {
    for (auto& e : entries_) {
      if (e.attribute && e.type == type && e.handler) {
        e.handler = share(std::move(handler));
        compact();
        return;
      }
    }
    if (handler) entries_.push_back(Entry{type, true, ++lastId_, share(std::move(handler))});
  }

  void clear() {
    for (auto& e : entries_) e.handler = nullptr;
    compact();
  }

  /// Calls every listener of `type`; `onException` receives whatever a listener throws.
  template <class ExceptionSink>
  void dispatch(int type, const Event& event, ExceptionSink&& onException) {
    const std::size_t count = entries_.size();  // listeners added now wait for the next event
    ++depth_;
    for (std::size_t i = 0; i < count && i < entries_.size(); ++i) {
      if (entries_[i].type != type || !entries_[i].handler) continue;
      // Holding a reference keeps the callable alive even if it replaces or removes itself.
      std::shared_ptr<const Handler> handler = entries_[i].handler;
      try {
        (*handler)(event);
      } catch (...) {
        onException();
      }
    }
    --depth_;
    compact();
  }

 private:
  struct Entry {
    int type;
    bool attribute;
    std::uint64_t id;
    std::shared_ptr<const Handler> handler;
  };

  static std::shared_ptr<const Handler> share(Handler h) {
    return h ? std::make_shared<const Handler>(std::move(h)) : nullptr;
  }

  // Removed entries are only erased when no dispatch is walking the vector.
  void compact() {
    if (depth_ != 0) return;
    std::erase_if(entries_, [](const Entry& e) { return !e.handler; });
  }

  std::vector<Entry> entries_;
  std::uint64_t lastId_ = 0;
  std::uint32_t depth_ = 0;
};

}  // namespace tcpsocket::detail
