#include "metrics.hpp"

#include <memory>
#include <sstream>

#include "options.hpp"

namespace tcpsocket::cli {
namespace {

constexpr std::size_t kMaxRequest = 8192;
constexpr auto kRequestDeadline = std::chrono::seconds(5);

// "127.0.0.1:9100", "[::1]:9100", ":9100" (loopback).
std::pair<std::string, std::uint16_t> splitHostPort(const std::string& where) {
  const std::size_t colon = where.rfind(':');
  if (colon == std::string::npos)
    throw UsageError("--metrics expects HOST:PORT, got '" + where + "'");
  std::string host = where.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "127.0.0.1";
  return {host, parsePort("--metrics", where.substr(colon + 1))};
}

void line(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

// Prometheus label values escape backslash, double quote and newline.
std::string labelValue(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void MetricsBoard::publish(std::size_t loop, LoopCounters counters) {
  std::lock_guard lock(mutex_);
  loops_.at(loop) = std::move(counters);
}

std::string MetricsBoard::render() const {
  LoopCounters sum;
  {
    std::lock_guard lock(mutex_);
    for (const LoopCounters& c : loops_) {
      sum.stats.accepted += c.stats.accepted;
      sum.stats.open += c.stats.open;
      sum.stats.lingering += c.stats.lingering;
      sum.stats.refusedPerAddress += c.stats.refusedPerAddress;
      sum.stats.pausesAtLimit += c.stats.pausesAtLimit;
      sum.stats.descriptorBackoffs += c.stats.descriptorBackoffs;
      sum.stats.handshakeFailures += c.stats.handshakeFailures;
      sum.stats.proxyHeadersAccepted += c.stats.proxyHeadersAccepted;
      sum.stats.proxyHeadersRefused += c.stats.proxyHeadersRefused;
      sum.bytesReceived += c.bytesReceived;
      sum.bytesSent += c.bytesSent;
      sum.tls = sum.tls || c.tls;
      for (const auto& [name, count] : c.errors) sum.errors[name] += count;
    }
  }
  const ServerStats& s = sum.stats;
  std::ostringstream out;
  line(out, "tcpsocket_connections_open", "gauge", "Accepted connections open now.");
  out << "tcpsocket_connections_open " << s.open << '\n';
  line(out, "tcpsocket_connections_lingering", "gauge",
       "Closed connections waiting for their peer's FIN.");
  out << "tcpsocket_connections_lingering " << s.lingering << '\n';
  line(out, "tcpsocket_connections_accepted_total", "counter", "Connections handed out.");
  out << "tcpsocket_connections_accepted_total " << s.accepted << '\n';
  line(out, "tcpsocket_connections_refused_total", "counter",
       "Connections reset on arrival, by reason.");
  out << "tcpsocket_connections_refused_total{reason=\"per_address_limit\"} " << s.refusedPerAddress
      << '\n';
  out << "tcpsocket_connections_refused_total{reason=\"proxy_header\"} " << s.proxyHeadersRefused
      << '\n';
  line(out, "tcpsocket_accept_pauses_total", "counter", "Times accepting paused, by reason.");
  out << "tcpsocket_accept_pauses_total{reason=\"max_connections\"} " << s.pausesAtLimit << '\n';
  out << "tcpsocket_accept_pauses_total{reason=\"descriptors\"} " << s.descriptorBackoffs << '\n';
  line(out, "tcpsocket_received_bytes_total", "counter", "Bytes received on accepted connections.");
  out << "tcpsocket_received_bytes_total " << sum.bytesReceived << '\n';
  line(out, "tcpsocket_sent_bytes_total", "counter", "Bytes sent on accepted connections.");
  out << "tcpsocket_sent_bytes_total " << sum.bytesSent << '\n';
  line(out, "tcpsocket_connection_errors_total", "counter",
       "Error events of accepted connections, by the reference's error name.");
  for (const auto& [name, count] : sum.errors) {
    out << "tcpsocket_connection_errors_total{name=\"" << labelValue(name) << "\"} " << count
        << '\n';
  }
  line(out, "tcpsocket_tls_handshakes_total", "counter", "TLS handshakes of clients, by result.");
  out << "tcpsocket_tls_handshakes_total{result=\"ok\"} " << (sum.tls ? s.accepted : 0) << '\n';
  out << "tcpsocket_tls_handshakes_total{result=\"failed\"} " << s.handshakeFailures << '\n';
  line(out, "tcpsocket_proxy_headers_total", "counter", "PROXY protocol headers, by result.");
  out << "tcpsocket_proxy_headers_total{result=\"accepted\"} " << s.proxyHeadersAccepted << '\n';
  out << "tcpsocket_proxy_headers_total{result=\"refused\"} " << s.proxyHeadersRefused << '\n';
  return out.str();
}

MetricsServer::MetricsServer(EventLoop& loop, const std::string& where, const MetricsBoard& board) {
  auto [host, port] = splitHostPort(where);
  host_ = host;
  ServerSocketOptions options;
  options.localAddress = host;
  options.binaryType = BinaryType::String;
  options.maxConnections = 64;
  // Shared with the process that replaces this one (SIGUSR2) while both run.
  options.reusePort = true;
  server_ = TCPServerSocket::listen(loop, port, options);
  server_.onconnect([&board, &loop](const TCPServerSocketEvent& e) {
    // A whole request within kRequestDeadline: the idle timeout alone restarts with each byte,
    // and 64 clients sending a byte now and then would hold every slot for hours.
    TCPSocket socket = e.socket;
    auto deadline = loop.setTimeout(kRequestDeadline, [socket]() mutable {
      if (socket.readyState() == ReadyState::Open) socket.closeImmediately();
    });
    e.socket.onclose([deadline](const TCPSocketEvent&) mutable { deadline.cancel(); });
    auto request = std::make_shared<std::string>();
    e.socket.ondata([request, &board](const TCPSocketEvent& d) {
      request->append(std::get<std::string_view>(d.data));
      if (request->find("\r\n\r\n") == std::string::npos) {
        if (request->size() > kMaxRequest) d.target.closeImmediately();
        return;
      }
      const std::string body = board.render();
      d.target.send(std::string_view(
          "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
          "Content-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body));
      d.target.ondata(nullptr);
      d.target.close();
    });
  });
}

std::string MetricsServer::address() const { return hostPort(host_, server_.localPort()); }

}  // namespace tcpsocket::cli
