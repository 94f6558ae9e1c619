// AppPolicy rules, table-driven (app type x permission x port x allowlist), and their enforcement
// by TCPSocket::open (after DNS, per address) and TCPServerSocket::listen.
#include <gtest/gtest.h>

#include <memory>

#include "support/fake_resolver.hpp"
#include "support/loop_fixture.hpp"
#include "support/pair.hpp"

namespace test {
namespace {

using ts::AppPolicy;
using ts::AppType;
using ts::SocketRule;

constexpr AppType kTypes[] = {AppType::Web, AppType::Privileged, AppType::Certified};
constexpr std::uint16_t kPorts[] = {0, 1, 80, 1023, 1024, 8080, 65535};

std::vector<SocketRule> rules(std::initializer_list<const char*> texts) {
  std::vector<SocketRule> out;
  for (const char* t : texts) out.push_back(SocketRule::parse(t));
  return out;
}

bool listenAllowed(const AppPolicy& p, const char* address, std::uint16_t port) {
  try {
    p.checkListen(address, port);
    return true;
  } catch (const ts::SecurityError&) {
    return false;
  }
}

// The rules as the issue states them, written out independently of the implementation's order.
TEST(AppPolicyRules, ListenTable) {
  struct Allowlist {
    const char* name;
    std::optional<std::vector<SocketRule>> rules;
    bool (*admits)(std::uint16_t port);
  };
  const Allowlist allowlists[] = {
      {"none", std::nullopt, [](std::uint16_t) { return true; }},
      {"*:8000-8100", rules({"*:8000-8100"}),
       [](std::uint16_t p) { return p >= 8000 && p <= 8100; }},
      {"127.0.0.1:80 + *:65535", rules({"127.0.0.1:80", "*:65535"}),
       [](std::uint16_t p) { return p == 80 || p == 65535; }},
  };
  int cases = 0;
  for (const AppType type : kTypes) {
    for (const bool permission : {false, true}) {
      for (const Allowlist& list : allowlists) {
        const AppPolicy policy(type, permission, std::nullopt, list.rules);
        for (const std::uint16_t port : kPorts) {
          const bool mayUseSockets = permission && type != AppType::Web;
          const bool expected =
              mayUseSockets &&
              (port == 0 || ((port >= 1024 || type == AppType::Certified) && list.admits(port)));
          EXPECT_EQ(listenAllowed(policy, "127.0.0.1", port), expected)
              << toString(type) << " permission=" << permission << " allowlist=" << list.name
              << " port=" << port;
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 3 * 2 * 3 * 7);
}

TEST(AppPolicyRules, ListenAllowlistHostIsTheLocalAddress) {
  const AppPolicy policy(AppType::Privileged, true, std::nullopt,
                         rules({"127.0.0.1:9000", "[::1]:9001"}));
  EXPECT_TRUE(listenAllowed(policy, "127.0.0.1", 9000));
  EXPECT_FALSE(listenAllowed(policy, "0.0.0.0", 9000));
  EXPECT_TRUE(listenAllowed(policy, "::1", 9001));
  EXPECT_FALSE(listenAllowed(policy, "127.0.0.1", 9001));
}

TEST(AppPolicyRules, ConnectTable) {
  struct Allowlist {
    const char* name;
    std::optional<std::vector<SocketRule>> rules;
  };
  const Allowlist allowlists[] = {
      {"none", std::nullopt},
      {"*:443 + mail.example.com:993", rules({"*:443", "mail.example.com:993"})}};
  // host, the address it resolved to, port -> allowed by the second allowlist?
  struct Target {
    const char* host;
    const char* address;
    std::uint16_t port;
    bool allowedByList;
  };
  const Target targets[] = {
      {"www.example.org", "93.184.216.34", 443, true},  // wildcard, public address
      {"www.example.org", "93.184.216.34", 80, false},  // port not listed
      {"evil.example.org", "127.0.0.1", 443, false},    // wildcard cannot reach loopback
      {"evil.example.org", "10.1.2.3", 443, false},     // ... nor private
      {"evil.example.org", "192.168.1.1", 443, false},
      {"evil.example.org", "169.254.1.1", 443, false},  // ... nor link-local
      {"evil.example.org", "::1", 443, false},
      {"evil.example.org", "fd00::1", 443, false},           // ... nor unique-local IPv6
      {"evil.example.org", "::ffff:127.0.0.1", 443, false},  // ... nor v4-mapped loopback
      {"evil.example.org", "64:ff9b::a00:1", 443, false},    // ... nor NAT64 of 10.0.0.1
      {"evil.example.org", "2002:a00:1::1", 443, false},     // ... nor 6to4
      {"evil.example.org", "198.18.0.1", 443, false},        // ... nor benchmarking / fake-IP
      {"www.example.org", "2606:2800:220:1::1", 443, true},  // a public IPv6 address
      {"mail.example.com", "10.0.0.5", 993, true},   // an explicitly named host, any address
      {"MAIL.Example.COM.", "10.0.0.5", 993, true},  // names compare case-insensitively
      {"mail.example.com", "10.0.0.5", 994, false},
      {"other.example.com", "203.0.113.9", 993, false},
      {"8.8.8.8", "8.8.8.8", 443, true},  // a literal public address, via *
  };
  for (const AppType type : kTypes) {
    for (const bool permission : {false, true}) {
      for (const Allowlist& list : allowlists) {
        const AppPolicy policy(type, permission, list.rules);
        for (const Target& t : targets) {
          const bool expected =
              permission && type != AppType::Web && (!list.rules || t.allowedByList);
          EXPECT_EQ(!policy.connectDenial(t.host, t.address, t.port).has_value(), expected)
              << toString(type) << " permission=" << permission << " allowlist=" << list.name << " "
              << t.host << " (" << t.address << "):" << t.port;
        }
      }
    }
  }
}

TEST(AppPolicyRules, DomainWildcardCoversSubdomainsOnly) {
  const AppPolicy policy(AppType::Privileged, true, rules({"*.example.com:443"}));
  EXPECT_FALSE(policy.connectDenial("a.example.com", "93.184.216.34", 443));
  EXPECT_FALSE(policy.connectDenial("a.b.example.com", "93.184.216.34", 443));
  EXPECT_TRUE(policy.connectDenial("example.com", "93.184.216.34", 443));
  EXPECT_TRUE(policy.connectDenial("badexample.com", "93.184.216.34", 443));
}

TEST(AppPolicyRules, AnIpEntryAllowsThatAddressEvenOnLoopback) {
  const AppPolicy policy(AppType::Privileged, true, rules({"127.0.0.1:7000-7001", "[::1]:*"}));
  EXPECT_FALSE(policy.connectDenial("127.0.0.1", "127.0.0.1", 7001));
  EXPECT_TRUE(policy.connectDenial("127.0.0.1", "127.0.0.1", 7002));
  EXPECT_FALSE(policy.connectDenial("localhost", "::1", 1));
}

TEST(AppPolicyRules, DenialsExplainThemselves) {
  const AppPolicy noPermission(AppType::Privileged, false);
  try {
    noPermission.checkPermission();
    FAIL() << "no permission must throw";
  } catch (const ts::SecurityError& e) {
    EXPECT_NE(std::string(e.what()).find("tcp-socket"), std::string::npos) << e.what();
  }
  try {
    AppPolicy(AppType::Privileged, true).checkListen("0.0.0.0", 80);
    FAIL() << "port 80 for a privileged app must throw";
  } catch (const ts::SecurityError& e) {
    EXPECT_NE(std::string(e.what()).find("certified"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1024"), std::string::npos) << e.what();
  }
}

TEST(SocketRuleParse, AcceptedForms) {
  const auto any = SocketRule::parse("*:*");
  EXPECT_EQ(any.host, "*");
  EXPECT_EQ(any.firstPort, 1);
  EXPECT_EQ(any.lastPort, 65535);
  const auto range = SocketRule::parse("Mail.Example.com:8000-8100");
  EXPECT_EQ(range.host, "mail.example.com");
  EXPECT_EQ(range.firstPort, 8000);
  EXPECT_EQ(range.lastPort, 8100);
  const auto v6 = SocketRule::parse("[::1]:443");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.firstPort, 443);
  EXPECT_EQ(SocketRule::parse("*.example.com:1").host, "*.example.com");
}

TEST(SocketRuleParse, RejectedForms) {
  for (const char* bad : {"", "*", "host", ":80", "host:", "host:0", "host:70000", "host:-1",
                          "host:80-", "host:90-80", "host:8a", "::1:80", "[::1:80", "[zz]:80",
                          "ho st:80", "*.:80", "a..b:80", "*foo:80", "host:1-2-3"}) {
    EXPECT_THROW(SocketRule::parse(bad), ts::ManifestError) << "'" << bad << "'";
  }
}

// ---------------------------------------------------------------------------------------------
// Enforcement through the API

class PolicyEnforcement : public LoopFixture {
 protected:
  static std::shared_ptr<const AppPolicy> policy(
      AppType type, bool permission, std::optional<std::vector<SocketRule>> connect = {},
      std::optional<std::vector<SocketRule>> listen = {}) {
    return std::make_shared<const AppPolicy>(type, permission, std::move(connect),
                                             std::move(listen));
  }
  // Names resolve through the seam only: tests never reach a DNS server.
  void fakeDns(std::string name, std::vector<const char*> addresses) {
    dns.answer(std::move(name), std::move(addresses));
  }
  FakeResolver dns{loop};
};

TEST_F(PolicyEnforcement, OpenWithoutPermissionThrowsSecurityError) {
  EXPECT_THROW(
      ts::TCPSocket::open(loop, "127.0.0.1", 9, {.policy = policy(AppType::Privileged, false)}),
      ts::SecurityError);
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 9, {.policy = policy(AppType::Web, true)}),
               ts::SecurityError);
}

TEST_F(PolicyEnforcement, LoopPolicyAppliesAndOptionsOverrideIt) {
  loop.setPolicy(policy(AppType::Web, true));
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 9), ts::SecurityError);
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"}),
               ts::SecurityError);
  auto server = ts::TCPServerSocket::listen(
      loop, 0, {.localAddress = "127.0.0.1", .policy = policy(AppType::Certified, true)});
  EXPECT_NE(server.localPort(), 0);
}

TEST_F(PolicyEnforcement, ListenRules) {
  loop.setPolicy(policy(AppType::Privileged, true, std::nullopt, rules({"127.0.0.1:20000-20010"})));
  // Denials are decided before any bind, so fixed ports are safe to name here.
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 80, {.localAddress = "127.0.0.1"}),
               ts::SecurityError);
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 30000, {.localAddress = "127.0.0.1"}),
               ts::SecurityError);
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 20005, {.localAddress = "0.0.0.0"}),
               ts::SecurityError);
  auto server =
      ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});  // port 0: always
  EXPECT_NE(server.localPort(), 0);
}

TEST_F(PolicyEnforcement, AllowedAddressConnectsAndAcceptedSocketsAreNotChecked) {
  Pair p(loop);  // no policy: the server side is native code
  p.waitConnected();
  const std::string entry = "127.0.0.1:" + std::to_string(p.listener.localPort());
  auto sock =
      ts::TCPSocket::open(loop, "127.0.0.1", p.listener.localPort(),
                          {.policy = policy(AppType::Privileged, true, rules({entry.c_str()}))});
  Recorder events(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return events.has("open") || events.closed(); }));
  EXPECT_EQ(events.events, std::vector<std::string>{"open"});
}

TEST_F(PolicyEnforcement, WildcardCannotReachLoopback) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  int accepted = 0;
  server.onconnect([&](const ts::TCPServerSocketEvent&) { ++accepted; });
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", server.localPort(),
                                  {.policy = policy(AppType::Certified, true, rules({"*:*"}))});
  Recorder events(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"error:SecurityError:SecurityPolicy", "close"}));
  runFor(loop, 20ms);
  EXPECT_EQ(accepted, 0) << "no connection attempt reached the forbidden address";
}

// The smuggling case: a permitted-looking name that resolves to a forbidden address.
TEST_F(PolicyEnforcement, NameResolvingToAForbiddenAddressIsRefusedAfterDns) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  int accepted = 0;
  server.onconnect([&](const ts::TCPServerSocketEvent&) { ++accepted; });
  fakeDns("intranet.example.org", {"127.0.0.1"});
  const std::string entry = "*.example.org:" + std::to_string(server.localPort());
  auto sock =
      ts::TCPSocket::open(loop, "intranet.example.org", server.localPort(),
                          {.policy = policy(AppType::Privileged, true, rules({entry.c_str()}))});
  Recorder events(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"error:SecurityError:SecurityPolicy", "close"}));
  runFor(loop, 20ms);
  EXPECT_EQ(accepted, 0);
}

TEST_F(PolicyEnforcement, ExplicitlyNamedHostMayResolveToLoopback) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  fakeDns("devbox.example.org", {"127.0.0.1"});
  const std::string entry = "devbox.example.org:" + std::to_string(server.localPort());
  auto sock =
      ts::TCPSocket::open(loop, "devbox.example.org", server.localPort(),
                          {.policy = policy(AppType::Privileged, true, rules({entry.c_str()}))});
  Recorder events(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return events.has("open") || events.closed(); }));
  EXPECT_EQ(events.events, std::vector<std::string>{"open"});
}

// Every resolved address is checked on its own: the forbidden one is skipped, never connected.
TEST_F(PolicyEnforcement, ForbiddenAddressesAreSkippedAndAllowedOnesTried) {
  auto allowed = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  const std::uint16_t port = allowed.localPort();
  ts::TCPServerSocket forbidden;
  try {  // the same port number on another loopback address: free unless by chance
    forbidden = ts::TCPServerSocket::listen(loop, port, {.localAddress = "127.0.0.2"});
  } catch (const ts::AddressInUseError&) {
    GTEST_SKIP() << "127.0.0.2:" << port << " is taken";
  }
  int forbiddenAccepts = 0;
  int allowedAccepts = 0;
  forbidden.onconnect([&](const ts::TCPServerSocketEvent&) { ++forbiddenAccepts; });
  allowed.onconnect([&](const ts::TCPServerSocketEvent&) { ++allowedAccepts; });
  fakeDns("multi.example.org", {"127.0.0.2", "127.0.0.1"});
  const std::string entry = "127.0.0.1:" + std::to_string(port);
  auto sock =
      ts::TCPSocket::open(loop, "multi.example.org", port,
                          {.policy = policy(AppType::Privileged, true, rules({entry.c_str()}))});
  Recorder events(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return allowedAccepts == 1 && events.has("open"); }));
  runFor(loop, 20ms);
  EXPECT_EQ(forbiddenAccepts, 0) << "the forbidden address was connected to";
}

}  // namespace
}  // namespace test
