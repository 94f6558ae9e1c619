// The tcpsocket command: argument handling and the error-line contract; the commands live in
// their own files.
#include <tcpsocket/tcpsocket.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "listen_command.hpp"
#include "options.hpp"

int main(int argc, char** argv) {
  using namespace tcpsocket;
  try {
    const cli::Command cmd = cli::parse(std::vector<std::string>(argv + 1, argv + argc));
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
        throw NotSupportedError("connect is not available in this version yet");
    }
  } catch (const cli::UsageError& e) {
    std::cerr << "tcpsocket: UsageError: " << e.what() << '\n';
    return 2;
  } catch (const NotSupportedError& e) {
    std::cerr << "tcpsocket: " << e.name() << ": " << e.what() << '\n';
    return 2;
  } catch (const Error& e) {
    std::cerr << "tcpsocket: " << e.name() << ": " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "tcpsocket: Error: " << e.what() << '\n';
    return 1;
  }
  return 1;
}
