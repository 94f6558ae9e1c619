// The tcpsocket tool's argument parsing, tested directly (the binary's error lines are covered
// end to end in cli/error_lines_test.py).
#include <gtest/gtest.h>

#include "messages.hpp"
#include "options.hpp"

namespace {

using tcpsocket::cli::Command;
using tcpsocket::cli::parse;
using tcpsocket::cli::UsageError;
using namespace std::chrono_literals;

TEST(CliOptions, ListenDefaults) {
  const Command c = parse({"listen"});
  EXPECT_EQ(c.kind, Command::Kind::Listen);
  EXPECT_EQ(c.listen.host, "127.0.0.1");
  EXPECT_EQ(c.listen.port, 0);
  EXPECT_EQ(c.listen.mode, tcpsocket::cli::Mode::Echo);
  EXPECT_FALSE(c.verbose);
}

TEST(CliOptions, ListenFlags) {
  const Command c = parse({"listen", "--host", "::1", "--port", "65535", "--backlog", "7", "--mode",
                           "chat", "--verbose"});
  EXPECT_EQ(c.listen.host, "::1");
  EXPECT_EQ(c.listen.port, 65535);
  EXPECT_EQ(c.listen.backlog, 7);
  EXPECT_EQ(c.listen.mode, tcpsocket::cli::Mode::Chat);
  EXPECT_TRUE(c.verbose);
}

TEST(CliOptions, PortsOutOfRangeOrNotNumbersAreUsageErrors) {
  for (const char* bad : {"65536", "70000", "-1", "abc", "", "12x", " 1", "0x10"}) {
    EXPECT_THROW(parse({"listen", "--port", bad}), UsageError) << bad;
  }
  EXPECT_THROW(parse({"listen", "--port"}), UsageError) << "missing value";
}

TEST(CliOptions, TlsCertAndKeyGoTogether) {
  EXPECT_THROW(parse({"listen", "--tls-cert", "c.pem"}), UsageError);
  EXPECT_NO_THROW(parse({"listen", "--tls-cert", "c.pem", "--tls-key", "k.pem"}));
}

TEST(CliOptions, ConnectNeedsHostAndPort) {
  const Command c = parse({"connect", "example.org", "7"});
  EXPECT_EQ(c.kind, Command::Kind::Connect);
  EXPECT_EQ(c.connect.host, "example.org");
  EXPECT_EQ(c.connect.port, 7);
  EXPECT_EQ(c.connect.timeout, 30s);
  EXPECT_THROW(parse({"connect"}), UsageError);
  EXPECT_THROW(parse({"connect", "h"}), UsageError);
  EXPECT_THROW(parse({"connect", "h", "1", "extra"}), UsageError);
  EXPECT_THROW(parse({"connect", "h", "1", "--nope"}), UsageError);
}

TEST(CliOptions, ConnectTimeoutInSeconds) {
  EXPECT_EQ(parse({"connect", "h", "1", "--timeout", "2"}).connect.timeout, 2000ms);
  EXPECT_EQ(parse({"connect", "h", "1", "--timeout", "0.25"}).connect.timeout, 250ms);
  for (const char* bad : {"0", "-1", "soon", "", "1e9", "nan"}) {
    EXPECT_THROW(parse({"connect", "h", "1", "--timeout", bad}), UsageError) << bad;
  }
}

TEST(CliOptions, ListenLimits) {
  const Command c = parse({"listen", "--max-connections", "100", "--idle-timeout", "2.5"});
  EXPECT_EQ(c.listen.maxConnections, 100u);
  EXPECT_EQ(c.listen.idleTimeout, 2500ms);
  for (const char* bad : {"0", "-3", "many", "2000000"}) {
    EXPECT_THROW(parse({"listen", "--max-connections", bad}), UsageError) << bad;
  }
  EXPECT_THROW(parse({"listen", "--idle-timeout", "0"}), UsageError);
}

TEST(CliOptions, WorkersAndThreads) {
  const Command c = parse({"listen", "--workers", "4", "--threads", "2"});
  EXPECT_EQ(c.listen.workers, 4u);
  EXPECT_EQ(c.listen.threads, 2u);
  EXPECT_THROW(parse({"listen", "--threads", "0"}), UsageError);
  EXPECT_THROW(parse({"listen", "--threads", "65"}), UsageError);
  EXPECT_THROW(parse({"listen", "--mode", "chat", "--threads", "2"}), UsageError);
  EXPECT_THROW(parse({"listen", "--mode", "chat", "--workers", "2"}), UsageError);
}

TEST(CliOptions, ManifestOnBothCommands) {
  EXPECT_EQ(parse({"listen", "--manifest", "a.webapp"}).listen.manifest, "a.webapp");
  EXPECT_EQ(parse({"connect", "h", "1", "--manifest", "b.webapp"}).connect.manifest, "b.webapp");
  EXPECT_TRUE(parse({"listen"}).listen.manifest.empty());
  EXPECT_THROW(parse({"listen", "--manifest"}), UsageError);
}

// Regression (issue 12): an empty --servername was taken as "not given" and HOST verified instead.
TEST(CliOptions, EmptyServerNameIsAUsageError) {
  EXPECT_THROW(parse({"connect", "h", "1", "--tls", "--servername", ""}), UsageError);
  EXPECT_EQ(parse({"connect", "h", "1", "--tls", "--servername", "n"}).connect.serverName, "n");
}

// Regression (issue 12): a host or path with a newline printed a second, forged, error line.
TEST(CliMessages, ControlCharactersAreEscapedSoAnErrorIsOneLine) {
  using tcpsocket::cli::escapeControls;
  EXPECT_EQ(escapeControls("127.0.0.1\ntcpsocket: FakeError: x"),
            "127.0.0.1\\ntcpsocket: FakeError: x");
  EXPECT_EQ(escapeControls("a\rb\tc\\d"), "a\\rb\\tc\\\\d");
  EXPECT_EQ(escapeControls(std::string("\x1b[2J\x7f\0", 6)), "\\x1b[2J\\x7f\\x00");
  EXPECT_EQ(escapeControls("caf\xc3\xa9 ~"), "caf\xc3\xa9 ~") << "other bytes pass through";
}

TEST(CliOptions, UnknownCommandAndNoCommand) {
  EXPECT_THROW(parse({}), UsageError);
  EXPECT_THROW(parse({"serve"}), UsageError);
  EXPECT_EQ(parse({"--help"}).kind, Command::Kind::Help);
  EXPECT_EQ(parse({"--version"}).kind, Command::Kind::Version);
}

// netcat's manners (issue: `listen --help` was a usage error, `--port=7000` and short flags were
// refused, `-v` after `connect HOST PORT` was read as a third argument).
TEST(CliOptions, FlagEqualsValueIsTheSameAsFlagSpaceValue) {
  const Command c = parse({"listen", "--port=7000", "--mode=discard", "--host=::1"});
  EXPECT_EQ(c.listen.port, 7000);
  EXPECT_EQ(c.listen.mode, tcpsocket::cli::Mode::Discard);
  EXPECT_EQ(c.listen.host, "::1");
  EXPECT_EQ(parse({"connect", "h", "1", "--timeout=2.5"}).connect.timeout, 2500ms);
  EXPECT_THROW(parse({"listen", "--verbose=1"}), UsageError) << "a switch given a value";
  EXPECT_THROW(parse({"listen", "--port="}), UsageError);
}

TEST(CliOptions, NetcatShortFlags) {
  const Command l = parse({"-l", "-p", "7000", "-k", "-v", "-s", "::"});
  EXPECT_EQ(l.kind, Command::Kind::Listen);
  EXPECT_EQ(l.listen.port, 7000);
  EXPECT_EQ(l.listen.host, "::");
  EXPECT_TRUE(l.verbose);
  const Command c = parse({"connect", "example.org", "80", "-v", "-w", "3", "-s", "127.0.0.2"});
  EXPECT_EQ(c.connect.host, "example.org");
  EXPECT_EQ(c.connect.port, 80);
  EXPECT_TRUE(c.verbose);
  EXPECT_EQ(c.connect.timeout, 3000ms);
  EXPECT_EQ(c.connect.source, "127.0.0.2");
  EXPECT_THROW(parse({"connect", "h", "1", "-x"}), UsageError) << "an unknown short flag";
  EXPECT_THROW(parse({"connect", "h", "-1"}), UsageError) << "a negative port";
}

TEST(CliOptions, HelpOnEverySubcommand) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"listen", "--help"},
                                               {"listen", "--port", "1", "-h"},
                                               {"connect", "--help"},
                                               {"connect", "h", "1", "-h"},
                                               {"-h"},
                                               {"--help"}}) {
    EXPECT_EQ(parse(args).kind, Command::Kind::Help) << args.front();
  }
}

TEST(CliOptions, StdioAndExecModes) {
  EXPECT_EQ(parse({"listen", "--mode", "stdio"}).listen.mode, tcpsocket::cli::Mode::Stdio);
  const Command e = parse({"-l", "-p", "7000", "-e", "tr a-z A-Z"});
  EXPECT_EQ(e.listen.mode, tcpsocket::cli::Mode::Exec);
  EXPECT_EQ(e.listen.exec, "tr a-z A-Z");
  EXPECT_EQ(parse({"listen", "--exec=cat", "--workers", "2"}).listen.mode,
            tcpsocket::cli::Mode::Exec);
  EXPECT_THROW(parse({"listen", "--exec", "cat", "--mode", "echo"}), UsageError);
  EXPECT_THROW(parse({"listen", "--exec", ""}), UsageError);
  EXPECT_THROW(parse({"listen", "--mode", "stdio", "--threads", "2"}), UsageError);
}

TEST(CliOptions, TlsFlagsForMutualTlsAlpnAndPins) {
  const Command l = parse({"listen", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-client-ca",
                           "ca.pem", "--alpn", "h2,http/1.1"});
  EXPECT_EQ(l.listen.tlsClientCa, "ca.pem");
  EXPECT_EQ(l.listen.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_THROW(parse({"listen", "--tls-client-ca", "ca.pem"}), UsageError) << "needs --tls-cert";
  EXPECT_THROW(parse({"listen", "--tls-cert", "c", "--tls-key", "k", "--alpn", "a,,b"}),
               UsageError);
  const Command c = parse({"connect", "h", "1", "--tls", "--cert", "c.pem", "--key", "k.pem",
                           "--alpn=x", "--pin", "sha256/AAA=", "--pin", "sha256/BBB="});
  EXPECT_EQ(c.connect.certFile, "c.pem");
  EXPECT_EQ(c.connect.keyFile, "k.pem");
  EXPECT_EQ(c.connect.alpn, std::vector<std::string>{"x"});
  EXPECT_EQ(c.connect.pins, (std::vector<std::string>{"sha256/AAA=", "sha256/BBB="}));
  EXPECT_THROW(parse({"connect", "h", "1", "--cert", "c.pem", "--key", "k.pem"}), UsageError)
      << "needs --tls";
  EXPECT_THROW(parse({"connect", "h", "1", "--tls", "--cert", "c.pem"}), UsageError)
      << "--cert without --key";
}

}  // namespace
