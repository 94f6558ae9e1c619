// Writes the test certificates (support/test_certs.hpp) as PEM files into a directory, for tests
// whose peers are other programs (openssl s_server/s_client, Python's ssl module).
//   ca.pem                    the test CA
//   good.pem, good.key        localhost, 127.0.0.1, ::1, signed by the CA
//   wronghost.pem/.key        only elsewhere.test, signed by the CA
//   expired.pem/.key          expired yesterday, signed by the CA
//   selfsigned.pem/.key       localhost, 127.0.0.1, signed by itself
//   client.pem/.key           a client certificate (extendedKeyUsage clientAuth), signed by the CA
//   otherclient.pem/.key      a client certificate signed by another CA
#include <fstream>
#include <iostream>
#include <string>

#include "support/test_certs.hpp"

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

void writePair(const std::string& dir, const std::string& name, const test::Credentials& c) {
  write(dir + "/" + name + ".pem", c.certificatePem);
  write(dir + "/" + name + ".key", c.keyPem);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_test_certs DIR\n";
    return 2;
  }
  try {
    const std::string dir = argv[1];
    test::TestCa ca;
    write(dir + "/ca.pem", ca.certificatePem());
    writePair(dir, "good", ca.issue());
    test::CertSpec wrongHost;
    wrongHost.dnsNames = {"elsewhere.test"};
    wrongHost.ipAddresses = {};
    writePair(dir, "wronghost", ca.issue(wrongHost));
    test::CertSpec expired;
    expired.validFromDays = -10;
    expired.validToDays = -1;
    writePair(dir, "expired", ca.issue(expired));
    writePair(dir, "selfsigned", test::TestCa::selfSigned());
    test::CertSpec client;
    client.clientAuth = true;
    writePair(dir, "client", ca.issue(client));
    writePair(dir, "otherclient", test::TestCa().issue(client));
  } catch (const std::exception& e) {
    std::cerr << "make_test_certs: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
