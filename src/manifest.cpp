// AppPolicy::fromManifest: a Firefox OS manifest.webapp, parsed with nlohmann::json, validated
// field by field. Errors name the source, the line and column, and the field.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <utility>

#include "tcpsocket/app_policy.hpp"
#include "tcpsocket/errors.hpp"

namespace tcpsocket {
namespace {

using Json = nlohmann::json;

// An input iterator over the text that publishes how far the parser has read, so that SAX events
// can be given positions (nlohmann::json 3.11 does not report positions of values).
class TrackingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackingIterator(const char* p, const char** cursor) : p_(p), cursor_(cursor) {}
  reference operator*() const { return *p_; }
  TrackingIterator& operator++() {
    *cursor_ = ++p_;
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const TrackingIterator& o) const { return p_ == o.p_; }
  bool operator!=(const TrackingIterator& o) const { return p_ != o.p_; }

 private:
  const char* p_;
  const char** cursor_;
};

// Records, for every value, its field path ("permissions.tcp-socket.connect[1]") and the offset
// where the parser finished reading it.
class PositionRecorder : public nlohmann::json_sax<Json> {
 public:
  PositionRecorder(const char* begin, const char** cursor) : begin_(begin), cursor_(cursor) {}
  std::map<std::string, std::size_t> positions;

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return open(false); }
  bool start_array(std::size_t) override { return open(true); }
  bool key(string_t& k) override {
    frames_.back().key = k;
    positions[path()] = offset();  // until the value is seen, the key's position stands for it
    return true;
  }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  // Syntax errors and numbers out of range alike: remembered with where the parser stopped.
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    error = std::make_pair(position, std::string(e.what()));
    return false;
  }
  std::optional<std::pair<std::size_t, std::string>> error;

 private:
  static constexpr std::size_t kMaxDepth = 32;  // a manifest needs 4

  struct Frame {
    bool array;
    std::size_t index = 0;
    std::string key;
  };

  std::size_t offset() const { return static_cast<std::size_t>(*cursor_ - begin_); }
  std::string path() const {
    std::string p;
    for (const Frame& f : frames_) {
      if (f.array) {
        p += "[" + std::to_string(f.index) + "]";
      } else {
        p += (p.empty() ? "" : ".") + f.key;
      }
    }
    return p;
  }
  bool value() {
    positions[path()] = offset();
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    return true;
  }
  bool open(bool array) {
    if (frames_.size() >= kMaxDepth) {  // paths would grow with the square of the depth
      error =
          std::make_pair(offset(), "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
      return false;
    }
    positions[path()] = offset();
    frames_.push_back(Frame{array, 0, {}});
    return true;
  }
  bool close() {
    frames_.pop_back();
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    return true;
  }

  const char* begin_;
  const char** cursor_;
  std::vector<Frame> frames_;
};

class Validator {
 public:
  Validator(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  AppPolicy run() {
    const char* cursor = text_.data();
    PositionRecorder recorder(text_.data(), &cursor);
    const TrackingIterator first(text_.data(), &cursor);
    const TrackingIterator last(text_.data() + text_.size(), &cursor);
    Json::sax_parse(first, last, &recorder, nlohmann::detail::input_format_t::json, false);
    positions_ = std::move(recorder.positions);
    if (recorder.error) {
      const auto [position, what] = *recorder.error;
      fail(position == 0 ? 0 : position - 1, "", syntaxMessage(what));
    }

    Json root;
    try {
      root = Json::parse(text_);
    } catch (const Json::exception& e) {  // not expected after the SAX pass; never let it escape
      fail(0, "", syntaxMessage(e.what()));
    }
    if (!root.is_object()) fail("", "a manifest must be a JSON object");
    const AppType type = appType(root);
    const Json* permission = tcpSocketPermission(root);
    if (permission == nullptr) return AppPolicy(type, false);
    return AppPolicy(type, true, rules(*permission, "connect"), rules(*permission, "listen"));
  }

 private:
  AppType appType(const Json& root) {
    const auto it = root.find("type");
    if (it == root.end()) return AppType::Web;  // Firefox OS's default
    if (!it->is_string())
      fail("type", "must be a string: \"web\", \"privileged\" or \"certified\"");
    const std::string& t = it->get_ref<const std::string&>();
    if (t == "web") return AppType::Web;
    if (t == "privileged") return AppType::Privileged;
    if (t == "certified") return AppType::Certified;
    fail("type", "unknown app type \"" + t + "\" (expected web, privileged or certified)");
  }

  const Json* tcpSocketPermission(const Json& root) {
    const auto perms = root.find("permissions");
    if (perms == root.end()) return nullptr;
    if (!perms->is_object()) fail("permissions", "must be an object");
    const auto it = perms->find("tcp-socket");
    if (it == perms->end()) return nullptr;
    if (!it->is_object()) fail("permissions.tcp-socket", "must be an object");
    return &*it;
  }

  std::optional<std::vector<SocketRule>> rules(const Json& permission, const std::string& key) {
    const auto it = permission.find(key);
    if (it == permission.end()) return std::nullopt;
    const std::string field = "permissions.tcp-socket." + key;
    std::vector<SocketRule> out;
    if (it->is_string()) {
      out.push_back(rule(*it, field));
    } else if (it->is_array()) {
      for (std::size_t i = 0; i < it->size(); ++i) {
        out.push_back(rule((*it)[i], field + "[" + std::to_string(i) + "]"));
      }
    } else {
      fail(field, "must be a \"HOST:PORTS\" string or an array of them");
    }
    return out;
  }

  SocketRule rule(const Json& value, const std::string& field) {
    if (!value.is_string()) fail(field, "must be a \"HOST:PORTS\" string");
    try {
      return SocketRule::parse(value.get_ref<const std::string&>());
    } catch (const ManifestError& e) {
      fail(field, e.what());
    }
  }

  static std::string syntaxMessage(const std::string& what) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..." → the
    // part after the location, which we print ourselves.
    const auto colon = what.find(": ");
    return "invalid JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2));
  }

  [[noreturn]] void fail(const std::string& field, const std::string& why) {
    const auto it = positions_.find(field);
    fail(it == positions_.end() ? 0 : it->second, field, why);
  }

  [[noreturn]] void fail(std::size_t offset, const std::string& field, const std::string& why) {
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < offset && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string message =
        std::string(source_) + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    if (!field.empty()) message += field + ": ";
    throw ManifestError(message + why);
  }

  std::string_view text_;
  std::string_view source_;
  std::map<std::string, std::size_t> positions_;
};

}  // namespace

AppPolicy AppPolicy::fromManifest(std::string_view json, std::string_view source) {
  return Validator(json, source).run();
}

AppPolicy AppPolicy::fromManifestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ManifestError(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ManifestError(path + ": cannot read: " + std::strerror(errno));
  return fromManifest(text.str(), path);
}

}  // namespace tcpsocket
