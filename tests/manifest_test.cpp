// AppPolicy::fromManifest: every app type, the allowlist forms, and a clear ManifestError naming
// the source, line:column and field for every kind of malformed manifest.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>

#include "support/test_support.hpp"

// Counts allocations while a test asks: how much work the parser does per value is measured by
// what it allocates, not by how long it takes.
namespace {
std::atomic<bool> countingAllocations{false};
std::atomic<std::size_t> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (countingAllocations.load(std::memory_order_relaxed)) {
    allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// GCC cannot see that the operator new above is malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace test {
namespace {

using ts::AppPolicy;
using ts::AppType;

std::string errorOf(const std::string& json, const char* source = "app.webapp") {
  try {
    AppPolicy::fromManifest(json, source);
  } catch (const ts::ManifestError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(Manifest, EachAppType) {
  EXPECT_EQ(AppPolicy::fromManifest(R"({"type": "web"})").type(), AppType::Web);
  EXPECT_EQ(AppPolicy::fromManifest(R"({"type": "privileged"})").type(), AppType::Privileged);
  EXPECT_EQ(AppPolicy::fromManifest(R"({"type": "certified"})").type(), AppType::Certified);
  EXPECT_EQ(AppPolicy::fromManifest(R"({"name": "no type"})").type(), AppType::Web)
      << "the default";
}

TEST(Manifest, PermissionAndAllowlists) {
  const auto p = AppPolicy::fromManifest(R"({
    "name": "Mail", "type": "privileged",
    "permissions": {
      "tcp-socket": { "description": "IMAP", "connect": ["mail.example.com:993", "*:443"],
                      "listen": "*:8000-8100" },
      "alarms": {}
    }
  })");
  EXPECT_TRUE(p.hasTcpSocketPermission());
  ASSERT_TRUE(p.connectAllowlist());
  ASSERT_EQ(p.connectAllowlist()->size(), 2u);
  EXPECT_EQ((*p.connectAllowlist())[0].host, "mail.example.com");
  EXPECT_EQ((*p.connectAllowlist())[1].firstPort, 443);
  ASSERT_TRUE(p.listenAllowlist());
  EXPECT_EQ((*p.listenAllowlist())[0].lastPort, 8100);
}

TEST(Manifest, NoPermissionMeansNoSockets) {
  const auto p = AppPolicy::fromManifest(R"({"type": "certified", "permissions": {"alarms": {}}})");
  EXPECT_FALSE(p.hasTcpSocketPermission());
  EXPECT_THROW(p.checkPermission(), ts::SecurityError);
  const auto unrestricted =
      AppPolicy::fromManifest(R"({"type": "certified", "permissions": {"tcp-socket": {}}})");
  EXPECT_TRUE(unrestricted.hasTcpSocketPermission());
  EXPECT_FALSE(unrestricted.connectAllowlist()) << "absent list: unrestricted";
}

TEST(Manifest, SyntaxErrorNamesLineAndColumn) {
  const std::string e = errorOf("{\n  \"type\": \"privileged\",\n  \"permissions\": {,}\n}");
  EXPECT_EQ(e.rfind("app.webapp:3:", 0), 0u) << e;
  EXPECT_NE(e.find("invalid JSON"), std::string::npos) << e;
  EXPECT_EQ(errorOf("").rfind("app.webapp:1:", 0), 0u) << errorOf("");
  EXPECT_NE(errorOf("{\"type\": \"web\"} trailing").find("invalid JSON"), std::string::npos);
}

// Regression (found by the fuzzer): a number too large for a double made nlohmann::json throw
// out_of_range, which escaped as a non-ManifestError exception.
TEST(Manifest, NumberOverflowIsAManifestError) {
  const std::string e = errorOf("{\"type\": \"web\",\n \"version\": 4e444444444444}");
  EXPECT_EQ(e.rfind("app.webapp:2:", 0), 0u) << e;
  EXPECT_NE(e.find("invalid JSON"), std::string::npos) << e;
  EXPECT_NE(errorOf("[1e400]"), "(accepted)");
}

// Regression (review): every nesting level stored its whole path, so 200 KB of '[' cost tens of
// GB. Nesting is bounded.
TEST(Manifest, DeepNestingIsRefusedCheaply) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  const std::string e = errorOf(deep);
  EXPECT_NE(e.find("nesting deeper than 32"), std::string::npos) << e.substr(0, 200);
  std::string objects;
  for (int i = 0; i < 40; ++i) objects += "{\"a\":";
  EXPECT_NE(errorOf(objects + "1" + std::string(40, '}')).find("nesting"), std::string::npos);
}

TEST(Manifest, WrongShapesNameTheField) {
  struct Case {
    const char* json;
    const char* field;
  };
  const Case cases[] = {
      {R"([1, 2])", "a manifest must be a JSON object"},
      {R"({"type": 3})", "type: must be a string"},
      {R"({"type": "hosted"})", "type: unknown app type \"hosted\""},
      {R"({"type": "web", "permissions": []})", "permissions: must be an object"},
      {R"({"permissions": {"tcp-socket": true}})", "permissions.tcp-socket: must be an object"},
      {R"({"permissions": {"tcp-socket": {"connect": 443}}})",
       "permissions.tcp-socket.connect: must be"},
      {R"({"permissions": {"tcp-socket": {"connect": ["*:443", 7]}}})",
       "permissions.tcp-socket.connect[1]: must be"},
      {R"({"permissions": {"tcp-socket": {"listen": ["*:70000"]}}})",
       "permissions.tcp-socket.listen[0]: '*:70000': port 70000 is out of range"},
      {R"({"permissions": {"tcp-socket": {"connect": "nohost"}}})",
       "permissions.tcp-socket.connect: 'nohost'"},
  };
  for (const Case& c : cases) {
    const std::string e = errorOf(c.json);
    EXPECT_EQ(e.rfind("app.webapp:1:", 0), 0u) << e;
    EXPECT_NE(e.find(c.field), std::string::npos) << "got: " << e << "\nwanted: " << c.field;
  }
}

TEST(Manifest, PositionPointsAtTheBadEntry) {
  const std::string json =
      "{\n"
      "  \"type\": \"privileged\",\n"
      "  \"permissions\": {\n"
      "    \"tcp-socket\": {\n"
      "      \"connect\": [\"*:443\",\n"
      "                  \"host:90-80\"]\n"
      "    }\n"
      "  }\n"
      "}\n";
  const std::string e = errorOf(json);
  EXPECT_EQ(e.rfind("app.webapp:6:", 0), 0u) << e;
  EXPECT_NE(e.find("permissions.tcp-socket.connect[1]"), std::string::npos) << e;
  EXPECT_NE(e.find("reversed"), std::string::npos) << e;
}

TEST(Manifest, FileThatCannotBeReadIsAManifestError) {
  try {
    AppPolicy::fromManifestFile("/nonexistent/manifest.webapp");
    FAIL() << "must throw";
  } catch (const ts::ManifestError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/manifest.webapp"), std::string::npos);
  }
}

TEST(Manifest, FileIsNamedInErrors) {
  const std::string path = ::testing::TempDir() + "bad_manifest.webapp";
  std::ofstream(path)
      << "{\"type\": \"certified\", \"permissions\": {\"tcp-socket\": {\"listen\": 1}}}";
  try {
    AppPolicy::fromManifestFile(path);
    FAIL() << "must throw";
  } catch (const ts::ManifestError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ":1:", 0), 0u) << e.what();
  }
  std::remove(path.c_str());
}

// Regression (issue 12): a position was kept for every value, so a large manifest cost memory and
// time in proportion to its values (5.5 GiB for 100 MB), and a long key, repeated in the path of
// every value under it, made that quadratic. Only the fields the validator checks are tracked now.
TEST(Manifest, PositionsAreKeptOnlyForValidatedFields) {
  constexpr std::size_t kValues = 100000;
  std::string values;
  for (std::size_t i = 0; i < kValues; ++i) values += "0,";
  values += "0";
  const std::string json = "{\"type\": \"web\", \"" + std::string(4096, 'k') + "\": [" + values +
                           "], \"permissions\": {\"tcp-socket\": {\"connect\": [\"a:1\", 7]}}}";
  allocations = 0;
  countingAllocations = true;
  const std::string e = errorOf(json);
  countingAllocations = false;
  EXPECT_NE(e.find("permissions.tcp-socket.connect[1]: must be"), std::string::npos) << e;
  EXPECT_LT(allocations.load(), kValues / 100) << "allocations per unchecked value";
}

std::string fileErrorOf(const std::string& path) {
  try {
    AppPolicy::fromManifestFile(path);
  } catch (const ts::ManifestError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(Manifest, FilesThatAreNotRegularFilesAreRefusedByName) {
  EXPECT_EQ(fileErrorOf("/dev/null"), "/dev/null: is not a regular file");
  std::string dir = ::testing::TempDir();
  if (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  EXPECT_EQ(fileErrorOf(dir), dir + ": is a directory");
}

TEST(Manifest, FileLargerThanOneMebibyteIsRefused) {
  const std::string path = ::testing::TempDir() + "big_manifest.webapp";
  const std::string manifest = "{\"type\": \"web\"}";
  std::ofstream(path) << manifest << std::string((1u << 20) - manifest.size(), ' ');
  EXPECT_EQ(fileErrorOf(path), "(accepted)") << "exactly 1 MiB";
  std::ofstream(path, std::ios::app) << ' ';
  EXPECT_EQ(fileErrorOf(path), path + ": is larger than 1 MiB");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace test
