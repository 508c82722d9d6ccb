/*
 * weft_md5: the few socket calls Node has no API for, so BGP sessions can carry TCP MD5
 * signatures (RFC 2385). Linux sets a key per remote address with setsockopt(TCP_MD5SIG); the key
 * must be on a socket before its SYN goes out (outgoing) or before the peer's SYN arrives
 * (listening socket; accepted sockets inherit the listener's keys).
 *
 * Exported (every fd is a plain integer; errors are thrown as Error with .code = "EADDRINUSE"...,
 * .errno and .syscall, like Node's own):
 *   socket(family 4|6, listening bool) -> fd     SOCK_STREAM, close-on-exec; SO_REUSEADDR when
 *                                                listening (as Node's listen does); an IPv6
 *                                                listening socket takes IPv4 too (IPV6_V6ONLY
 *                                                off, as libuv sets it for Node's `::`, whatever
 *                                                net.ipv6.bindv6only says)
 *   setKey(fd, address, key)                      TCP_MD5SIG for `address` (IPv4 or IPv6; an
 *                                                IPv4 peer on an IPv6 socket as ::ffff:a.b.c.d);
 *                                                key "" removes the key for that address
 *   bind(fd, address, port)
 *   listen(fd, backlog)
 *   close(fd)
 * The caller hands the fd to Node (net.Socket / net.Server with { fd }), which owns it after.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error(env, NULL, "weft_md5: N-API call failed");    \
      return NULL;                                                   \
    }                                                                \
  } while (0)

/* Throws an Error like Node's: "<syscall> <CODE>: <strerror>", with code, errno and syscall. */
static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char text[256];
  const char *code = uv_err_name(-err);
  snprintf(text, sizeof text, "%s %s: %s", syscall, code, strerror(err));
  napi_value msg, error, v;
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) != napi_ok) return NULL;
  if (napi_create_error(env, NULL, msg, &error) != napi_ok) return NULL;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "code", v);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "syscall", v);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *text) {
  napi_throw_type_error(env, NULL, text);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  return argc == want;
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

/* A string argument into buf (NUL-terminated); 0 when it is no string or too long. */
static int get_string(napi_env env, napi_value v, char *buf, size_t size, size_t *len) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok || n >= size) return 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &n) != napi_ok) return 0;
  if (len) *len = n;
  return 1;
}

static napi_value make_int(napi_env env, int32_t n) {
  napi_value v;
  CHECK(napi_create_int32(env, n, &v));
  return v;
}

static napi_value undefined(napi_env env) {
  napi_value v;
  CHECK(napi_get_undefined(env, &v));
  return v;
}

/* The socket's address family (AF_INET or AF_INET6), or -errno. */
static int socket_family(int fd) {
  int domain = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return -errno;
  return domain;
}

/*
 * `address` as a sockaddr fit for a socket of `family`: an IPv4 address on an IPv6 socket becomes
 * ::ffff:a.b.c.d (the kernel keys it as IPv4 then). 0 when the text is no address, or is IPv6 on
 * an IPv4 socket.
 */
static socklen_t to_sockaddr(int family, const char *address, int port, struct sockaddr_storage *ss) {
  struct in_addr a4;
  struct in6_addr a6;
  memset(ss, 0, sizeof *ss);
  if (inet_pton(AF_INET, address, &a4) == 1) {
    if (family == AF_INET) {
      struct sockaddr_in *s = (struct sockaddr_in *)ss;
      s->sin_family = AF_INET;
      s->sin_port = htons((uint16_t)port);
      s->sin_addr = a4;
      return sizeof *s;
    }
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons((uint16_t)port);
    s->sin6_addr.s6_addr[10] = 0xff;
    s->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&s->sin6_addr.s6_addr[12], &a4, 4);
    return sizeof *s;
  }
  if (family == AF_INET6 && inet_pton(AF_INET6, address, &a6) == 1) {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons((uint16_t)port);
    s->sin6_addr = a6;
    return sizeof *s;
  }
  return 0;
}

/* socket(family 4|6, listening) -> fd */
static napi_value js_socket(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t family;
  bool listening = false;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], &family) || napi_get_value_bool(env, argv[1], &listening) != napi_ok ||
      (family != 4 && family != 6)) {
    return throw_type(env, "socket(family: 4 | 6, listening: boolean)");
  }
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (listening) {
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
      int e = errno;
      close(fd);
      return throw_errno(env, "setsockopt", e);
    }
    int off = 0;
    if (family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0) {
      int e = errno;
      close(fd);
      return throw_errno(env, "setsockopt", e);
    }
  }
  return make_int(env, fd);
}

/* setKey(fd, address, key): TCP_MD5SIG for one remote address; "" deletes it. */
static napi_value js_set_key(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  char address[INET6_ADDRSTRLEN + 1];
  char key[TCP_MD5SIG_MAXKEYLEN + 1];
  size_t keylen = 0;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &fd) || !get_string(env, argv[1], address, sizeof address, NULL)) {
    return throw_type(env, "setKey(fd: number, address: string, key: string)");
  }
  if (!get_string(env, argv[2], key, sizeof key, &keylen)) return throw_type(env, "setKey: the key must be a string of at most 80 bytes");
  int family = socket_family(fd);
  if (family < 0) return throw_errno(env, "getsockopt", -family);
  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof sig);
  if (to_sockaddr(family, address, 0, &sig.tcpm_addr) == 0) return throw_type(env, "setKey: the address is not an address of the socket's family");
  sig.tcpm_keylen = (uint16_t)keylen;
  memcpy(sig.tcpm_key, key, keylen);
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig) != 0) {
    /* Deleting a key that is not there is no error for the caller. */
    if (keylen == 0 && errno == ENOENT) return undefined(env);
    return throw_errno(env, "setsockopt", errno);
  }
  return undefined(env);
}

/* bind(fd, address, port) */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, port;
  char address[INET6_ADDRSTRLEN + 1];
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &fd) || !get_string(env, argv[1], address, sizeof address, NULL) ||
      !get_int(env, argv[2], &port) || port < 0 || port > 65535) {
    return throw_type(env, "bind(fd: number, address: string, port: number)");
  }
  int family = socket_family(fd);
  if (family < 0) return throw_errno(env, "getsockopt", -family);
  struct sockaddr_storage ss;
  socklen_t len = to_sockaddr(family, address, port, &ss);
  if (len == 0) return throw_type(env, "bind: the address is not an address of the socket's family");
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) return throw_errno(env, "bind", errno);
  return undefined(env);
}

/* listen(fd, backlog) */
static napi_value js_listen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, backlog;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &backlog)) {
    return throw_type(env, "listen(fd: number, backlog: number)");
  }
  if (listen(fd, backlog) != 0) return throw_errno(env, "listen", errno);
  return undefined(env);
}

/* close(fd): only for an fd not yet handed to Node. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], &fd)) return throw_type(env, "close(fd: number)");
  if (close(fd) != 0) return throw_errno(env, "close", errno);
  return undefined(env);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "socket", NULL, js_socket, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setKey", NULL, js_set_key, NULL, NULL, NULL, napi_enumerable, NULL },
    { "bind", NULL, js_bind, NULL, NULL, NULL, napi_enumerable, NULL },
    { "listen", NULL, js_listen, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
