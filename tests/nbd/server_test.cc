// Server lifecycle: open, listen on a Unix socket, serve a client on the
// background threads, and stop() with a client still connected.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "formats/core/endian.h"
#include "nbd/protocol.h"
#include "nbd/server.h"

namespace dk::nbd {
namespace {

class NbdServer : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dk-nbd-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    std::ofstream(m_dir + "/disk.raw") << std::string(65536, 'x');
  }
  void TearDown() override { std::system(("rm -rf '" + m_dir + "'").c_str()); }

  int connect_to(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  std::string m_dir;
};

TEST_F(NbdServer, StartServeAndStopWithAClientConnected) {
  ExportSpec spec;
  spec.image = m_dir + "/disk.raw";
  spec.format = "raw";
  auto server = Server::open({spec});
  ASSERT_TRUE(server) << server.error().message;
  std::string sock = m_dir + "/s.sock";
  ASSERT_TRUE((*server)->listen_unix(sock));
  struct stat st;
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE((*server)->start());
  EXPECT_FALSE((*server)->start());  // only once

  int fd = connect_to(sock);
  ASSERT_GE(fd, 0);
  std::byte hello[18];
  ASSERT_EQ(::recv(fd, hello, sizeof hello, MSG_WAITALL), 18);
  EXPECT_EQ(load_be64(hello), kNbdMagic);
  for (int i = 0; i < 100 && (*server)->client_count() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ((*server)->client_count(), 1u);

  // The client idles in the handshake; stop() must still return.
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE((*server)->stop());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_TRUE((*server)->stop());  // idempotent
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);  // dropped
  ::close(fd);
  EXPECT_NE(::access(sock.c_str(), F_OK), 0);  // socket file removed
}

TEST_F(NbdServer, ServeForeverReturnsOnRequestStop) {
  ExportSpec spec;
  spec.image = m_dir + "/disk.raw";
  spec.read_only = true;
  auto server = Server::open({spec});
  ASSERT_TRUE(server) << server.error().message;
  ASSERT_TRUE((*server)->listen_unix(m_dir + "/s.sock"));
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (*server)->request_stop();
  });
  EXPECT_TRUE((*server)->serve_forever());
  stopper.join();
}

TEST_F(NbdServer, OpenErrors) {
  EXPECT_FALSE(Server::open({}));
  ExportSpec missing;
  missing.image = m_dir + "/missing.qcow2";
  auto r = Server::open({missing});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("missing.qcow2"), std::string::npos);
  ExportSpec a;
  a.image = m_dir + "/disk.raw";
  a.format = "raw";
  a.read_only = true;
  EXPECT_FALSE(Server::open({a, a}));  // duplicate export name
}

}  // namespace
}  // namespace dk::nbd
