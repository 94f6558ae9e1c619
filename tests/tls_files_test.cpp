// TLS credentials read from files: the library reads PEM files itself, bounded, and from regular
// files only, and names the file and the reason when it refuses one.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "support/tls_fixture.hpp"

namespace test {
namespace {

// PEM files are read by the library, bounded, from regular files only: OpenSSL's own file functions
// blocked forever on a FIFO and read devices and huge files to the end.
class TlsFiles : public TlsFixture {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/tcpsocket-pem-XXXXXX";
    dir = ::mkdtemp(pattern);
  }
  void TearDown() override {
    for (const std::string& f : created) std::remove(f.c_str());
    ::rmdir(dir.c_str());
  }
  std::string fileWith(const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    created.push_back(path);
    return path;
  }
  // The TlsConfigurationError message of a server with these credentials, or "(accepted)".
  std::string listenError(const ts::PemSource& chain, const ts::PemSource& key) {
    auto options = tlsServer(leaf, true, ts::BinaryType::ArrayBuffer);
    options.tls.certificateChain = chain;
    options.tls.privateKey = key;
    try {
      ts::TCPServerSocket::listen(loop, 0, options).close();
    } catch (const ts::TlsConfigurationError& e) {
      return e.what();
    }
    return "(accepted)";
  }
  std::string clientError(const ts::PemSource& trusted) {
    auto options = tlsClient(true, ts::BinaryType::ArrayBuffer);
    options.tls.trustedCertificates = trusted;
    try {
      ts::TCPSocket::open(loop, "127.0.0.1", 1, options).closeImmediately();
    } catch (const ts::TlsConfigurationError& e) {
      return e.what();
    }
    return "(accepted)";
  }
  static void expectNamed(const std::string& error, const std::string& path, const char* why) {
    EXPECT_NE(error.find(path + ": " + why), std::string::npos) << error;
  }

  Credentials leaf = ca->issue();
  std::string dir;
  std::vector<std::string> created;
};

TEST_F(TlsFiles, RegularFilesAreRead) {
  const ts::PemSource chain{fileWith("chain.pem", leaf.certificatePem), ""};
  const ts::PemSource key{fileWith("key.pem", leaf.keyPem), ""};
  EXPECT_EQ(listenError(chain, key), "(accepted)");
  auto options = tlsClient(true, ts::BinaryType::ArrayBuffer);
  options.tls.trustedCertificates = {fileWith("ca.pem", ca->certificatePem()), ""};
  EXPECT_EQ(clientEventsAgainst(leaf, options), (std::vector<std::string>{"open", "close"}));
}

TEST_F(TlsFiles, DevicesAndDirectoriesAreRefusedByName) {
  const ts::PemSource key{"", leaf.keyPem};
  expectNamed(listenError({"/dev/null", ""}, key), "/dev/null", "is not a regular file");
  expectNamed(listenError({dir, ""}, key), dir, "is a directory");
  expectNamed(listenError({"", leaf.certificatePem}, {"/dev/null", ""}), "/dev/null",
              "is not a regular file");
  expectNamed(clientError({"/dev/null", ""}), "/dev/null", "is not a regular file");
  expectNamed(clientError({dir, ""}), dir, "is a directory");
}

// The writer end is held open, so that the library's read does not wait: before, the key was
// read from the FIFO and accepted.
TEST_F(TlsFiles, FifoIsRefusedWithoutReadingIt) {
  const std::string fifo = dir + "/key.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  created.push_back(fifo);
  const int writer = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(writer, 0);
  ASSERT_EQ(::write(writer, leaf.keyPem.data(), leaf.keyPem.size()),
            static_cast<ssize_t>(leaf.keyPem.size()));
  expectNamed(listenError({"", leaf.certificatePem}, {fifo, ""}), fifo, "is not a regular file");
  ::close(writer);
}

TEST_F(TlsFiles, FilesLargerThanOneMebibyteAreRefused) {
  // Valid PEM followed by blank lines, which PEM parsers skip: accepted if read whole.
  const std::string padding(std::size_t{1} << 20, '\n');
  const std::string big = fileWith("big.pem", leaf.certificatePem + padding);
  expectNamed(listenError({big, ""}, {"", leaf.keyPem}), big, "is larger than 1 MiB");
  expectNamed(clientError({fileWith("bigca.pem", ca->certificatePem() + padding), ""}),
              dir + "/bigca.pem", "is larger than 1 MiB");
}

// A file that cannot be opened carries the errno, so that a missing file can be told from a
// passing shortage of descriptors (found by the attack on the redesigned core).
TEST_F(TlsFiles, AFileThatCannotBeOpenedCarriesTheErrno) {
  auto options = tlsClient(true, ts::BinaryType::ArrayBuffer);
  options.tls.trustedCertificates = {dir + "/missing.pem", ""};
  try {
    ts::TCPSocket::open(loop, "127.0.0.1", 1, options).closeImmediately();
    FAIL() << "a missing CA file was accepted";
  } catch (const ts::TlsConfigurationError& e) {
    EXPECT_EQ(e.cause(), std::errc::no_such_file_or_directory) << e.what();
  }
  // A file refused for what it is, not for a failed system call, has no cause.
  options.tls.trustedCertificates = {dir, ""};
  try {
    ts::TCPSocket::open(loop, "127.0.0.1", 1, options).closeImmediately();
    FAIL() << "a directory was accepted as a CA file";
  } catch (const ts::TlsConfigurationError& e) {
    EXPECT_FALSE(e.cause()) << e.what();
  }
}

}  // namespace
}  // namespace test
