// The tcpsocket command: argument handling and the error-line contract; the commands live in
// their own files.
#include <csignal>
#include <iostream>
#include <string>
#include <tcpsocket/tcpsocket.hpp>
#include <vector>

#include "connect_command.hpp"
#include "listen_command.hpp"
#include "messages.hpp"
#include "options.hpp"
#include "shutdown_signal.hpp"

int main(int argc, char** argv) {
  using namespace tcpsocket;
  // A reader of our stdout or stderr that goes away (`| head`, a closed log pipe) must not kill a
  // server: every write reports EPIPE instead, and a failed log line is dropped.
  std::signal(SIGPIPE, SIG_IGN);
  cli::keepStandardDescriptorsOpen();
  try {
    const cli::Command cmd = cli::parse(std::vector<std::string>(argv + 1, argv + argc));
    // At once: a stop signal that arrives while the server starts is kept for its watcher.
    if (cmd.kind == cli::Command::Kind::Listen) cli::blockServerSignals();
    switch (cmd.kind) {
      case cli::Command::Kind::Help:
        std::cout << cli::usageText();
        return 0;
      case cli::Command::Kind::Version:
        std::cout << "tcpsocket " << kVersion << '\n';
        return 0;
      case cli::Command::Kind::Listen:
        return cli::runListen(cmd.listen, cmd.verbose);
      case cli::Command::Kind::Connect:
        return cli::runConnect(cmd.connect, cmd.verbose);
    }
  } catch (const cli::UsageError& e) {
    cli::printError("UsageError", e.what());
    return 2;
  } catch (const ManifestError& e) {
    cli::printError(e.name(), e.what());
    return 2;
  } catch (const NotSupportedError& e) {
    cli::printError(e.name(), e.what());
    return 2;
  } catch (const TlsConfigurationError& e) {  // a certificate or key file that cannot be used
    cli::printError(e.name(), e.what());
    return 2;
  } catch (const Error& e) {
    cli::printError(e.name(), e.what());
    return 1;
  } catch (const std::exception& e) {
    cli::printError("Error", e.what());
    return 1;
  }
  return 1;
}
