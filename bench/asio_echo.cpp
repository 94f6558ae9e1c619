// The idiomatic Asio echo server the benchmark compares against: one io_context, a 64 KiB buffer
// per connection, async_read_some then async_write of what was read.
//   asio_echo [PORT]   prints "listening on 127.0.0.1:PORT"
#include <asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
  void start() { read(); }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(data_),
                            [self = shared_from_this()](std::error_code ec, std::size_t n) {
                              if (!ec) self->write(n);
                            });
  }
  void write(std::size_t n) {
    asio::async_write(socket_, asio::buffer(data_, n),
                      [self = shared_from_this()](std::error_code ec, std::size_t) {
                        if (!ec) self->read();
                      });
  }
  asio::ip::tcp::socket socket_;
  char data_[65536];
};

void acceptLoop(asio::ip::tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](std::error_code ec, asio::ip::tcp::socket socket) {
    if (!ec) {
      socket.set_option(asio::ip::tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket))->start();
    }
    acceptLoop(acceptor);
  });
}

}  // namespace

int main(int argc, char** argv) {
  const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0);
  asio::io_context io(1);
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
  std::printf("listening on 127.0.0.1:%d\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  acceptLoop(acceptor);
  io.run();
}
