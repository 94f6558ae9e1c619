// AppPolicy::fromManifest: a Firefox OS manifest.webapp, parsed with nlohmann::json, validated
// field by field. Errors name the source, the line and column, and the field.
#include <algorithm>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>

#include "bounded_file.hpp"
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

// The fields below the root the Validator names in its errors: only their positions are kept.
// Recording every value cost memory and time in proportion to the whole document (and a long key,
// repeated in the path of each value under it, made that quadratic).
bool isValidatedField(std::string_view path) {
  static constexpr std::string_view kFields[] = {"type", "permissions", "permissions.tcp-socket",
                                                 "permissions.tcp-socket.connect",
                                                 "permissions.tcp-socket.listen"};
  return std::find(std::begin(kFields), std::end(kFields), path) != std::end(kFields);
}

bool isAllowlist(std::string_view path) {
  return path == "permissions.tcp-socket.connect" || path == "permissions.tcp-socket.listen";
}

// Records, for each validated field ("permissions.tcp-socket.connect[1]"), the offset where the
// parser finished reading it.
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
    Frame& f = frames_.back();
    f.child.clear();
    if (!f.tracked) return true;
    std::string child = f.path.empty() ? k : f.path + "." + k;
    if (!isValidatedField(child)) return true;
    f.child = std::move(child);
    positions[f.child] = offset();  // until the value is seen, the key's position stands for it
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
  // A manifest needs 4; the DOM pass that follows recurses once per level.
  static constexpr std::size_t kMaxDepth = 32;

  struct Frame {
    bool array;
    bool tracked;      // this container is a validated field: some children may be too
    std::string path;  // its field path, when tracked
    std::size_t index = 0;
    std::string child;  // the validated field of the current key, if it is one
  };

  std::size_t offset() const { return static_cast<std::size_t>(*cursor_ - begin_); }

  // The validated field the value starting now is, or nullopt.
  std::optional<std::string> currentField() const {
    if (frames_.empty()) return std::string();
    const Frame& f = frames_.back();
    if (!f.tracked) return std::nullopt;
    if (!f.array) {
      if (f.child.empty()) return std::nullopt;
      return f.child;
    }
    if (!isAllowlist(f.path)) return std::nullopt;
    return f.path + "[" + std::to_string(f.index) + "]";
  }

  void advance() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
  }

  bool value() {
    if (auto field = currentField()) positions[*field] = offset();
    advance();
    return true;
  }
  bool open(bool array) {
    if (frames_.size() >= kMaxDepth) {
      error =
          std::make_pair(offset(), "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
      return false;
    }
    std::optional<std::string> field = currentField();
    if (field) positions[*field] = offset();
    const bool tracked = field.has_value();
    frames_.push_back(Frame{array, tracked, tracked ? std::move(*field) : std::string(), 0, {}});
    return true;
  }
  bool close() {
    frames_.pop_back();
    advance();
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
  const detail::BoundedFile file = detail::readBoundedFile(path);
  if (!file.failure.empty()) throw ManifestError(file.failure);
  return fromManifest(file.text, path);
}

}  // namespace tcpsocket
