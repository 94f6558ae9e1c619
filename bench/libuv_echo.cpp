// A peer: the echo server a C programmer would write on libuv (Debian's libuv1-dev), the idiomatic
// way: uv_read_start with a buffer allocated per read (libuv's suggested 64 KiB, so an idle
// connection holds none), uv_try_write first and uv_write for what the kernel refuses, reading
// stopped while 64 KiB or more waits to be written (the same backpressure as the others). C code
// in a .cpp file only because the project builds C++.
//   libuv_echo [PORT]   prints "listening on 127.0.0.1:PORT"
#include <uv.h>

#include <cstdio>
#include <cstdlib>

enum { kHighWater = 64 * 1024 };

template <typename T>
uv_handle_t* asHandle(T* h) {
  return reinterpret_cast<uv_handle_t*>(h);
}
template <typename T>
uv_stream_t* asStream(T* h) {
  return reinterpret_cast<uv_stream_t*>(h);
}

struct Pending {
  uv_write_t req;
  char* base;
};

void on_closed(uv_handle_t* handle) { std::free(handle); }

void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  (void)handle;
  buf->base = static_cast<char*>(std::malloc(suggested));
  buf->len = buf->base ? suggested : 0;
}

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);

void on_written(uv_write_t* req, int status) {
  Pending* p = reinterpret_cast<Pending*>(req);
  uv_stream_t* stream = req->handle;
  std::free(p->base);
  std::free(p);
  if (status == 0 && stream->write_queue_size < kHighWater && !uv_is_closing(asHandle(stream)) &&
      !uv_is_active(asHandle(stream))) {
    uv_read_start(stream, on_alloc, on_read);
  }
}

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) {
    std::free(buf->base);
    if (!uv_is_closing(asHandle(stream))) uv_close(asHandle(stream), on_closed);
    return;
  }
  size_t done = 0;
  if (stream->write_queue_size == 0) {
    uv_buf_t whole = uv_buf_init(buf->base, static_cast<unsigned>(nread));
    const int w = uv_try_write(stream, &whole, 1);
    if (w > 0) done = static_cast<size_t>(w);
  }
  if (done == static_cast<size_t>(nread)) {
    std::free(buf->base);
    return;
  }
  Pending* p = static_cast<Pending*>(std::malloc(sizeof *p));
  p->base = buf->base;
  uv_buf_t rest =
      uv_buf_init(buf->base + done, static_cast<unsigned>(nread - static_cast<ssize_t>(done)));
  if (uv_write(&p->req, stream, &rest, 1, on_written) != 0) {
    std::free(p->base);
    std::free(p);
    uv_close(asHandle(stream), on_closed);
    return;
  }
  if (stream->write_queue_size >= kHighWater) uv_read_stop(stream);
}

void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  uv_tcp_t* client = static_cast<uv_tcp_t*>(std::malloc(sizeof *client));
  uv_tcp_init(server->loop, client);
  if (uv_accept(server, asStream(client)) != 0) {
    uv_close(asHandle(client), on_closed);
    return;
  }
  uv_tcp_nodelay(client, 1);
  uv_read_start(asStream(client), on_alloc, on_read);
}

int main(int argc, char** argv) {
  uv_loop_t* loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", argc > 1 ? std::atoi(argv[1]) : 0, &addr);
  int err = uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (err == 0) err = uv_listen(asStream(&server), 1024, on_connection);
  if (err != 0) {
    std::fprintf(stderr, "listen: %s\n", uv_strerror(err));
    return 1;
  }
  int len = sizeof addr;
  uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
