#include "relay.hpp"

#include <cerrno>
#include <cstring>
#include <string>

namespace tcpsocket::cli {

namespace {
std::string_view bytesOf(const EventData& data) {
  if (const auto* text = std::get_if<std::string_view>(&data)) return *text;
  const auto& buffer = std::get<ArrayBuffer>(data);
  return {reinterpret_cast<const char*>(buffer.data()), buffer.size()};
}
}  // namespace

Relay::Relay(EventLoop& loop, TCPSocket socket, End input, End output, VerboseLog log,
             std::function<void()> outputDone)
    : loop_(loop),
      socket_(std::move(socket)),
      inputEnd_(input),
      outputEnd_(output),
      log_(log),
      outputDone_(std::move(outputDone)),
      output_(loop, output.fd,
              {.low =
                   [this] {
                     if (!outputPaused_) return;
                     outputPaused_ = false;
                     socket_.resume();
                   },
               .error = [this](int err) { outputFailed(err); }}) {
  dataListener_ = socket_.addEventListener(
      SocketEventType::Data, [this](const TCPSocketEvent& e) { received(bytesOf(e.data)); });
  // One brake per episode: send() said false once, and this drain resumes reading.
  drainListener_ = socket_.addEventListener(SocketEventType::Drain, [this](const TCPSocketEvent&) {
    if (input_) input_->resume();
  });
  endListener_ = socket_.addEventListener(SocketEventType::End,
                                          [this](const TCPSocketEvent&) { endOutput(); });
}

Relay::~Relay() {
  socket_.removeEventListener(dataListener_);
  socket_.removeEventListener(drainListener_);
  socket_.removeEventListener(endListener_);
}

void Relay::startInput() {
  input_.emplace(loop_, inputEnd_.fd,
                 FdReader::Handlers{.chunk = [this](std::string_view c) { inputChunk(c); },
                                    .end = [this] { inputEnded(); },
                                    .error =
                                        [this](int err) {
                                          printError("InputError",
                                                     "reading " + std::string(inputEnd_.name) +
                                                         " failed: " + std::strerror(err));
                                          failed_ = true;
                                          inputEnded();
                                        }});
}

void Relay::inputChunk(std::string_view chunk) {
  if (socket_.readyState() != ReadyState::Open) return;
  if (!socket_.send(chunk)) input_->pause();  // read no more until the socket has written this
}

void Relay::inputEnded() {
  log_("end of input: half-closing");
  if (socket_.readyState() == ReadyState::Open) socket_.halfClose();
}

void Relay::received(std::string_view bytes) {
  if (outputFailed_) return;  // this direction is over; the bytes have nowhere to go
  if (!output_.write(bytes) && !outputPaused_) {
    outputPaused_ = true;
    socket_.suspend();
  }
}

void Relay::outputFailed(int err) {
  if (outputFailed_) return;
  outputFailed_ = true;
  if (outputPaused_) {  // nothing more will be written: reading on cannot grow a backlog
    outputPaused_ = false;
    socket_.resume();
  }
  if (err != EPIPE) {
    printError("OutputError",
               "writing " + std::string(outputEnd_.name) + " failed: " + std::strerror(err));
    failed_ = true;
  }
  if (err != EPIPE || outputEnd_.closedEndsConnection) socket_.closeImmediately();
  endOutput();
}

void Relay::endOutput() {
  if (outputEnding_) return;
  outputEnding_ = true;
  output_.finish([this](int) {
    if (outputDone_) outputDone_();
  });
}

}  // namespace tcpsocket::cli
