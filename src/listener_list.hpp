// An ordered list of event listeners, shared by TCPSocket and TCPServerSocket.
//
// It follows the DOM's EventTarget rules that matter to users: listeners run in the order they were
// added; a handler attribute (onopen = ...) keeps its place when replaced; a listener added during
// dispatch does not see the event being dispatched, and one removed during dispatch is not called.
//
// Handlers are stored inline (no heap block per listener: an idle connection's listeners are most
// of its memory). That is safe because nothing a running handler does can move or destroy a stored
// handler: while a dispatch runs, additions and replacements wait in `pending_` and removals only
// mark their entry; both are applied when the outermost dispatch ends.
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
    insert(Entry{type, false, false, ++lastId_, 0, std::move(handler)});
    return lastId_;
  }

  void remove(std::uint64_t id) {
    for (auto& e : entries_) {
      if (e.id == id && !e.attribute) e.removed = true;
    }
    if (pending_) {
      std::erase_if(*pending_, [id](const Entry& e) { return e.id == id && !e.attribute; });
    }
    settle();
  }

  /// The `on<type> = handler` attribute: replaces in place, removes on nullptr, appends otherwise.
  void setAttribute(int type, Handler handler) {
    if (pending_) {
      std::erase_if(*pending_, [type](const Entry& e) { return e.attribute && e.type == type; });
    }
    for (auto& e : entries_) {
      if (e.attribute && e.type == type && !e.removed) {
        e.removed = true;  // destroyed once no dispatch runs it
        if (handler) insert(Entry{type, true, false, ++lastId_, e.id, std::move(handler)});
        settle();
        return;
      }
    }
    if (handler) insert(Entry{type, true, false, ++lastId_, 0, std::move(handler)});
  }

  void clear() {
    for (auto& e : entries_) e.removed = true;
    pending_.reset();
    settle();
  }

  /// Calls every listener of `type`; `onException` receives whatever a listener throws.
  template <class ExceptionSink>
  void dispatch(int type, const Event& event, ExceptionSink&& onException) {
    ++depth_;
    for (std::size_t i = 0; i < entries_.size(); ++i) {  // no insertion can happen meanwhile
      if (entries_[i].type != type || entries_[i].removed) continue;
      try {
        entries_[i].handler(event);
      } catch (...) {
        onException();
      }
    }
    --depth_;
    settle();
  }

 private:
  struct Entry {
    int type;
    bool attribute;
    bool removed;
    std::uint64_t id;
    std::uint64_t replaces;  // an attribute replacing entry `replaces` keeps its place
    Handler handler;
  };

  void insert(Entry entry) {
    if (depth_ != 0) {
      if (!pending_) pending_ = std::make_unique<std::vector<Entry>>();
      pending_->push_back(std::move(entry));
    } else {
      place(std::move(entry));
    }
  }

  void place(Entry entry) {
    if (entry.replaces != 0) {
      for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].id == entry.replaces) {
          entries_.insert(entries_.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(entry));
          return;
        }
      }
    }
    entries_.push_back(std::move(entry));
  }

  // Applies what a dispatch deferred; only when no dispatch is walking the list.
  void settle() {
    if (depth_ != 0) return;
    if (auto pending = std::move(pending_)) {
      for (auto& entry : *pending) place(std::move(entry));
    }
    std::erase_if(entries_, [](const Entry& e) { return e.removed; });
    if (entries_.empty()) entries_.shrink_to_fit();
  }

  std::vector<Entry> entries_;
  // Additions made during a dispatch; allocated only then (an idle socket's list is most of it).
  std::unique_ptr<std::vector<Entry>> pending_;
  std::uint64_t lastId_ = 0;
  std::uint32_t depth_ = 0;
};

}  // namespace tcpsocket::detail
