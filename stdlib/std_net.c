/*
 * std_net.c — the net module: TCP over the VM's libuv loop. net.listen
 * and net.connect give a TcpListener and a TcpConn (resource objects,
 * vm_res_new); accept, connect, read and write suspend only the calling
 * fiber (rt_io_wait). Every connect and listen asks the permission layer
 * first (rt_sys_check_net: --allow-net, kiln_config.net_hosts).
 *
 * What a callback touches lives on the C heap, not on a waiting native's
 * stack, so that a fiber stopped while it waits (a limit, the end of the
 * run) simply lets go: the request finishes in the background and frees
 * itself (`w` NULL: no one waits any more).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "../runtime/rt.h"
#include "std.h"

/* Bytes a connection reads ahead, and what the heap limit is charged for
 * one (its buffer and its state). */
enum { READ_CHUNK = 16 << 10, CONN_CHARGE = 20 << 10, BACKLOG = 511 };

/* What a connection and a listener share. */
typedef struct net_sock {
    uv_tcp_t tcp; /* first: a handle's data is the socket */
    kiln_vm *vm;
    int refs;    /* open handles, and fibers that will look at it again */
    bool closed; /* by the guest, or as its object was freed */
    char *buf;   /* a connection's received bytes not read yet */
} net_sock;

typedef struct net_conn {
    net_sock s;
    uv_timer_t timer;
    size_t at, len, cap; /* s.buf[at .. len) */
    int err;             /* a read failed (a libuv error), or UV_EOF */
    rt_io *reader;       /* the fiber waiting in read, or NULL */
    int64_t timeout_ms;
    bool timed_out;
} net_conn;

/* A fiber waiting in accept (on its stack), in line. */
struct waiter {
    rt_io *w;
    struct waiter *next;
};

typedef struct net_listener {
    net_sock s;
    int pending;            /* connections waiting for accept */
    int err;                /* a listen error */
    struct waiter *waiters; /* fibers in accept, first first */
} net_listener;

/* libuv's error `err` for the call `what` as a guest IOError, of the
 * subclass for the system's error ("net.connect 127.0.0.1:9: ECONNREFUSED:
 * connection refused" is a ConnectionRefusedError); the resolver's errors
 * are IOError. */
static int io_error(kiln_vm *vm, int err, const char *what)
{
    if (err <= -3000) /* libuv's own codes (the resolver's, UV_EOF): no errno */
        rt_raise(vm, RT_ERR_IO, "%s: %s: %s", what, uv_err_name(err), uv_strerror(err));
    else
        rt_raise_errno(vm, -err, "%s", what);
    return -1;
}

/* ---- Closing ---- */

static void wake_reader(net_conn *c)
{
    if (c->reader) {
        rt_io_done(c->reader);
        c->reader = NULL;
    }
}

/* One reference fewer: the last frees the socket. */
static void unref(net_sock *s)
{
    if (--s->refs == 0) {
        gc_release(&s->vm->heap, CONN_CHARGE);
        free(s->buf);
        free(s);
    }
}

static void closed_cb(uv_handle_t *h)
{
    unref(h->data);
}

static void conn_close(kiln_vm *vm, void *p)
{
    (void)vm;
    net_conn *c = p;
    c->s.closed = true;
    c->err = UV_ECANCELED; /* a fiber waiting in read gets an error */
    wake_reader(c);
    uv_close((uv_handle_t *)&c->s.tcp, closed_cb);
    uv_close((uv_handle_t *)&c->timer, closed_cb);
}

static void listener_close(kiln_vm *vm, void *p)
{
    (void)vm;
    net_listener *l = p;
    l->s.closed = true;
    for (struct waiter *q = l->waiters; q; q = q->next)
        rt_io_done(q->w);
    uv_close((uv_handle_t *)&l->s.tcp, closed_cb);
}

/* A new connection's state, its handles open on the loop, or NULL after
 * raising. */
/* A socket of `size` bytes (a connection's or a listener's state), its
 * TCP handle open on the loop, charged to the heap limit; NULL after
 * raising. */
static net_sock *sock_new(kiln_vm *vm, uv_loop_t *loop, size_t size, const char *what)
{
    if (!gc_reserve(&vm->heap, CONN_CHARGE)) {
        rt_raise(vm, RT_ERR_OOM, "out of memory for %s: the heap limit is %zu bytes", what,
                 vm->heap.limit);
        return NULL;
    }
    net_sock *s = calloc(1, size);
    if (!s) {
        gc_release(&vm->heap, CONN_CHARGE);
        rt_raise(vm, RT_ERR_OOM, "out of memory for %s", what);
        return NULL;
    }
    s->vm = vm;
    s->refs = 1;
    uv_tcp_init(loop, &s->tcp);
    s->tcp.data = s;
    return s;
}

static net_conn *conn_new(kiln_vm *vm, uv_loop_t *loop)
{
    net_conn *c = (net_conn *)sock_new(vm, loop, sizeof *c, "a connection");
    if (c) {
        uv_timer_init(loop, &c->timer);
        c->timer.data = c;
        c->s.refs = 2;
    }
    return c;
}

/* The guest's object for c; on failure c is closed (NULL after raising). */
static vm_resobj *conn_object(kiln_vm *vm, net_conn *c)
{
    vm_resobj *o = vm_res_new(vm, "TcpConn", c, conn_close);
    if (!o)
        conn_close(vm, c);
    return o;
}

/* ---- Addresses ---- */

typedef struct resolve_req {
    uv_getaddrinfo_t req;
    rt_io *w; /* NULL: no one waits (the fiber was stopped) */
    struct sockaddr_storage addr;
    int status;
} resolve_req;

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve_req *r = req->data;
    r->status = status;
    if (status == 0 && res)
        memcpy(&r->addr, res->ai_addr, res->ai_addrlen);
    uv_freeaddrinfo(res);
    if (r->w)
        rt_io_done(r->w);
    else
        free(r);
}

/* host (a numeric address, or a name the resolver knows) and port as an
 * address; -1 after raising. */
static int address(kiln_vm *vm, const char *host, int64_t port, struct sockaddr_storage *out,
                   const char *op)
{
    memset(out, 0, sizeof *out);
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out) == 0 ||
        uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)out) == 0)
        return 0;
    uv_loop_t *loop = rt_io_loop(vm);
    resolve_req *r = loop ? calloc(1, sizeof *r) : NULL;
    if (!r) {
        if (loop)
            rt_raise(vm, RT_ERR_OOM, "out of memory resolving %s", host);
        return -1;
    }
    rt_io w;
    rt_io_begin(vm, &w);
    r->w = &w;
    r->req.data = r;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    char service[8];
    snprintf(service, sizeof service, "%d", (int)port);
    int e = uv_getaddrinfo(loop, &r->req, resolved, host, service, &hints);
    if (e) {
        free(r);
        char what[300];
        snprintf(what, sizeof what, "%s %.256s", op, host);
        return io_error(vm, e, what);
    }
    if (rt_io_wait(vm, &w)) { /* stopped: the request frees itself, or has ended */
        if (w.done) {
            free(r);
        } else {
            r->w = NULL;
            uv_cancel((uv_req_t *)&r->req);
        }
        return -1;
    }
    int status = r->status;
    *out = r->addr;
    free(r);
    if (status) {
        char what[300];
        snprintf(what, sizeof what, "%s %.256s", op, host);
        return io_error(vm, status, what);
    }
    return 0;
}

/* The host and port arguments of net.listen and net.connect (op), allowed
 * and resolved into *addr; the host, or NULL after raising. */
static vm_str *target(kiln_vm *vm, vm_value *a, const char *op, struct sockaddr_storage *addr)
{
    vm_str *host = std_arg_str(vm, a, 0, op);
    if (!host)
        return NULL;
    if (a[1].i < 0 || a[1].i > 65535) {
        rt_raise(vm, RT_ERR_VALUE, "%s: port %lld is not in 0..65535", op, (long long)a[1].i);
        return NULL;
    }
    if (!rt_sys_check_net(vm, op, host->data, (int)a[1].i) ||
        address(vm, host->data, a[1].i, addr, op))
        return NULL;
    return host;
}

static void address_text(const struct sockaddr_storage *a, char *out, size_t n)
{
    char ip[64] = "?";
    int port = 0;
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a;
        uv_ip6_name(s, ip, sizeof ip);
        port = ntohs(s->sin6_port);
        snprintf(out, n, "[%s]:%d", ip, port);
    } else {
        const struct sockaddr_in *s = (const struct sockaddr_in *)a;
        uv_ip4_name(s, ip, sizeof ip);
        port = ntohs(s->sin_port);
        snprintf(out, n, "%s:%d", ip, port);
    }
}

/* ---- net.listen and accept ---- */

static void on_connection(uv_stream_t *server, int status)
{
    net_listener *l = server->data;
    if (status < 0)
        l->err = status;
    else
        l->pending++;
    if (l->waiters)
        rt_io_done(l->waiters->w);
}

static int n_listen(kiln_vm *vm, vm_value *a, vm_value *r)
{
    struct sockaddr_storage addr;
    vm_str *host = target(vm, a, "net.listen", &addr);
    if (!host)
        return -1;
    uv_loop_t *loop = rt_io_loop(vm);
    net_listener *l = loop ? (net_listener *)sock_new(vm, loop, sizeof *l, "a listener") : NULL;
    if (!l)
        return -1;
    int e = uv_tcp_bind(&l->s.tcp, (const struct sockaddr *)&addr, 0);
    if (!e)
        e = uv_listen((uv_stream_t *)&l->s.tcp, BACKLOG, on_connection);
    if (e) {
        char what[300];
        snprintf(what, sizeof what, "net.listen %.256s:%lld", host->data, (long long)a[1].i);
        listener_close(vm, l);
        return io_error(vm, e, what);
    }
    uv_unref((uv_handle_t *)&l->s.tcp); /* until a fiber waits in accept */
    vm_resobj *o = vm_res_new(vm, "TcpListener", l, listener_close);
    if (!o) {
        listener_close(vm, l);
        return -1;
    }
    r->p = &o->obj;
    return 0;
}

/* The socket of a TcpListener or TcpConn argument, open (NULL after
 * raising). */
static void *sock_arg(kiln_vm *vm, vm_value v, const char *what)
{
    vm_resobj *o = vm_res_of(vm, v, what);
    return o ? o->ptr : NULL;
}

static int n_accept(kiln_vm *vm, vm_value *a, vm_value *r)
{
    net_listener *l = sock_arg(vm, a[0], "accept");
    if (!l)
        return -1;
    while (!l->pending) {
        if (l->err)
            return io_error(vm, l->err, "accept");
        rt_io w;
        rt_io_begin(vm, &w);
        struct waiter me = {&w, NULL}, **p = &l->waiters;
        while (*p)
            p = &(*p)->next;
        *p = &me; /* in line */
        l->s.refs++;
        uv_ref((uv_handle_t *)&l->s.tcp); /* a fiber waits on it: the loop is alive */
        int rc = rt_io_wait(vm, &w);
        for (p = &l->waiters; *p != &me; p = &(*p)->next) {
        }
        *p = me.next;
        if (!l->waiters && !l->s.closed) /* no one waits: no deadlock is hidden by it */
            uv_unref((uv_handle_t *)&l->s.tcp);
        bool closed = l->s.closed;
        unref(&l->s);
        if (rc)
            return -1;
        if (closed) {
            rt_raise(vm, RT_ERR_IO, "accept: the listener was closed");
            return -1;
        }
    }
    uv_loop_t *loop = rt_io_loop(vm);
    net_conn *c = conn_new(vm, loop);
    if (!c)
        return -1;
    int e = uv_accept((uv_stream_t *)&l->s.tcp, (uv_stream_t *)&c->s.tcp);
    if (--l->pending && l->waiters) /* more came: the next in line */
        rt_io_done(l->waiters->w);
    if (e) {
        conn_close(vm, c);
        return io_error(vm, e, "accept");
    }
    uv_tcp_nodelay(&c->s.tcp, 1);
    vm_resobj *o = conn_object(vm, c);
    if (!o)
        return -1;
    r->p = &o->obj;
    return 0;
}

/* The address of socket v (peer: of its other end); -1 after raising. */
static int sock_name(kiln_vm *vm, vm_value v, const char *what, bool peer,
                     struct sockaddr_storage *out)
{
    net_sock *so = sock_arg(vm, v, what);
    if (!so)
        return -1;
    int len = sizeof *out;
    int e = peer ? uv_tcp_getpeername(&so->tcp, (struct sockaddr *)out, &len)
                 : uv_tcp_getsockname(&so->tcp, (struct sockaddr *)out, &len);
    return e ? io_error(vm, e, what) : 0;
}

static int n_port(kiln_vm *vm, vm_value *a, vm_value *r)
{
    struct sockaddr_storage addr;
    if (sock_name(vm, a[0], "port", false, &addr))
        return -1;
    r->i = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                            : ((struct sockaddr_in *)&addr)->sin_port);
    return 0;
}

static int n_close(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    if (!a[0].p) {
        rt_raise(vm, RT_ERR_NULL, "close of null");
        return -1;
    }
    if (((gc_obj *)a[0].p)->kind == VM_OBJ_RES)
        vm_res_close(vm, a[0].p); /* closing twice does nothing */
    return 0;
}

/* ---- net.connect ---- */

typedef struct connect_req {
    uv_connect_t req;
    rt_io *w; /* NULL: the fiber was stopped; the callback closes c */
    net_conn *c;
} connect_req;

/* A request's end, to the fiber that waits for it: false when none does
 * any more (the request cleans up after itself). */
static bool deliver(rt_io *w, int status)
{
    if (!w)
        return false;
    w->status = status;
    rt_io_done(w);
    return true;
}

static void connected(uv_connect_t *req, int status)
{
    connect_req *q = req->data;
    if (!deliver(q->w, status))
        free(q); /* its fiber was stopped, and closed the connection */
}

static int n_connect(kiln_vm *vm, vm_value *a, vm_value *r)
{
    struct sockaddr_storage addr;
    vm_str *host = target(vm, a, "net.connect", &addr);
    if (!host)
        return -1;
    uv_loop_t *loop = rt_io_loop(vm);
    net_conn *c = loop ? conn_new(vm, loop) : NULL;
    if (!c)
        return -1;
    connect_req *q = calloc(1, sizeof *q);
    if (!q) {
        conn_close(vm, c);
        rt_raise(vm, RT_ERR_OOM, "out of memory connecting");
        return -1;
    }
    rt_io w;
    rt_io_begin(vm, &w);
    q->w = &w;
    q->c = c;
    q->req.data = q;
    char what[300];
    snprintf(what, sizeof what, "net.connect %.256s:%lld", host->data, (long long)a[1].i);
    int e = uv_tcp_connect(&q->req, &c->s.tcp, (const struct sockaddr *)&addr, connected);
    if (e) {
        free(q);
        conn_close(vm, c);
        return io_error(vm, e, what);
    }
    if (rt_io_wait(vm, &w)) {
        /* Stopped (a limit, the end of the run): the connection is closed
         * now, which cancels the connect; the request is freed here if its
         * callback ran already, else by the callback. */
        if (w.done)
            free(q);
        else
            q->w = NULL;
        conn_close(vm, c);
        return -1;
    }
    free(q);
    if (w.status) {
        conn_close(vm, c);
        return io_error(vm, w.status, what);
    }
    uv_tcp_nodelay(&c->s.tcp, 1);
    vm_resobj *o = conn_object(vm, c);
    if (!o)
        return -1;
    r->p = &o->obj;
    return 0;
}

/* ---- Reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    net_conn *c = h->data;
    if (c->at == c->len)
        c->at = c->len = 0;
    if (c->cap - c->len < READ_CHUNK) {
        size_t cap = c->len + READ_CHUNK;
        char *b = realloc(c->s.buf, cap);
        if (!b) {
            *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
            return;
        }
        c->s.buf = b;
        c->cap = cap;
    }
    *buf = uv_buf_init(c->s.buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    net_conn *c = s->data;
    if (n == 0)
        return; /* nothing now (EAGAIN) */
    if (n > 0)
        c->len += (size_t)n;
    else
        c->err = (int)n; /* UV_EOF, or a failure */
    uv_read_stop(s);     /* read on when the guest asks again */
    uv_timer_stop(&c->timer);
    wake_reader(c);
}

static void on_timeout(uv_timer_t *t)
{
    net_conn *c = t->data;
    c->timed_out = true;
    uv_read_stop((uv_stream_t *)&c->s.tcp);
    wake_reader(c);
}

/* c.read(max): up to max bytes, waiting for at least one; "" once the
 * peer has closed its side. */
static int n_read(kiln_vm *vm, vm_value *a, vm_value *r)
{
    net_conn *c = sock_arg(vm, a[0], "read");
    if (!c)
        return -1;
    if (a[1].i <= 0) {
        rt_raise(vm, RT_ERR_VALUE, "read: %lld bytes is not a size", (long long)a[1].i);
        return -1;
    }
    if (c->reader) {
        rt_raise(vm, RT_ERR_IO, "read: another fiber is reading this connection");
        return -1;
    }
    if (c->at == c->len && !c->err) {
        int e = uv_read_start((uv_stream_t *)&c->s.tcp, on_alloc, on_read);
        if (e)
            return io_error(vm, e, "read");
        c->timed_out = false;
        if (c->timeout_ms > 0)
            uv_timer_start(&c->timer, on_timeout, (uint64_t)c->timeout_ms, 0);
        rt_io w;
        rt_io_begin(vm, &w);
        c->reader = &w;
        c->s.refs++; /* closed meanwhile, it stays until this fiber is back */
        int rc = rt_io_wait(vm, &w);
        bool closed = c->s.closed;
        if (c->reader == &w) { /* stopped (a limit, the end): no one reads now */
            c->reader = NULL;
            uv_read_stop((uv_stream_t *)&c->s.tcp);
            uv_timer_stop(&c->timer);
        }
        unref(&c->s);
        if (rc)
            return -1;
        if (closed) {
            rt_raise(vm, RT_ERR_IO, "read: the connection was closed");
            return -1;
        }
        if (c->timed_out && c->at == c->len) {
            rt_raise_errno(vm, ETIMEDOUT, "read: nothing came for %lld ms",
                           (long long)c->timeout_ms);
            return -1;
        }
    }
    size_t n = c->len - c->at;
    if (n == 0) {
        if (c->err && c->err != UV_EOF)
            return io_error(vm, c->err, "read");
        r->s = vm_str_new(vm, "", 0); /* the end: the peer closed */
        return r->s ? 0 : -1;
    }
    if ((uint64_t)a[1].i < n)
        n = (size_t)a[1].i;
    r->s = vm_str_new(vm, c->s.buf + c->at, n);
    if (!r->s)
        return -1;
    c->at += n;
    return 0;
}

static int n_timeout(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    net_conn *c = sock_arg(vm, a[0], "set_timeout");
    if (!c)
        return -1;
    if (a[1].i < 0) {
        rt_raise(vm, RT_ERR_VALUE, "set_timeout: %lld ms is negative", (long long)a[1].i);
        return -1;
    }
    c->timeout_ms = a[1].i;
    return 0;
}

/* ---- Writing ---- */

typedef struct write_req {
    uv_write_t req;
    rt_io *w; /* NULL: no one waits */
    kiln_vm *vm;
    size_t len; /* what the heap limit is charged for the copy */
    char data[];
} write_req;

static void write_free(write_req *q)
{
    gc_release(&q->vm->heap, q->len);
    free(q);
}

static void written(uv_write_t *req, int status)
{
    write_req *q = req->data;
    if (!deliver(q->w, status))
        write_free(q);
}

/* c.write(s): all of s, waiting while the peer's side is full. */
static int n_write(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    net_conn *c = sock_arg(vm, a[0], "write");
    vm_str *s = c ? std_arg_str(vm, a, 1, "write") : NULL;
    if (!s)
        return -1;
    if (vm_charge(vm, s->len / VM_BYTES_PER_TICK))
        return -1;
    uv_buf_t b = uv_buf_init(s->data, s->len);
    rt_nopipe np; /* a peer gone: EPIPE, not the host's death */
    rt_nopipe_begin(&np);
    int n = s->len ? uv_try_write((uv_stream_t *)&c->s.tcp, &b, 1) : 0;
    rt_nopipe_end(&np);
    if (n == (int)s->len)
        return 0;
    if (n < 0 && n != UV_EAGAIN)
        return io_error(vm, n, "write");
    size_t done = n > 0 ? (size_t)n : 0, rest = s->len - done;
    /* The rest is copied (the request may outlive this call), and counted
     * toward the heap limit while it waits. */
    if (!gc_reserve(&vm->heap, rest)) {
        rt_raise(vm, RT_ERR_OOM, "out of memory writing %zu bytes: the heap limit is %zu bytes",
                 rest, vm->heap.limit);
        return -1;
    }
    write_req *q = malloc(sizeof *q + rest);
    if (!q) {
        gc_release(&vm->heap, rest);
        rt_raise(vm, RT_ERR_OOM, "out of memory writing %zu bytes", rest);
        return -1;
    }
    memcpy(q->data, s->data + done, rest);
    q->vm = vm;
    q->len = rest;
    q->req.data = q;
    rt_io w;
    rt_io_begin(vm, &w);
    q->w = &w;
    b = uv_buf_init(q->data, (unsigned)rest);
    rt_nopipe_begin(&np);
    int e = uv_write(&q->req, (uv_stream_t *)&c->s.tcp, &b, 1, written);
    rt_nopipe_end(&np);
    if (e) {
        write_free(q);
        return io_error(vm, e, "write");
    }
    if (rt_io_wait(vm, &w)) {
        if (w.done) /* its callback ran: no one else frees it */
            write_free(q);
        else
            q->w = NULL;
        return -1;
    }
    write_free(q);
    return w.status ? io_error(vm, w.status, "write") : 0;
}

static int n_peer(kiln_vm *vm, vm_value *a, vm_value *r)
{
    struct sockaddr_storage addr;
    if (sock_name(vm, a[0], "peer", true, &addr))
        return -1;
    char text[96];
    address_text(&addr, text, sizeof text);
    r->s = vm_str_cstr(vm, text);
    return r->s ? 0 : -1;
}

static const char *const LISTENER_OUT[] = {NULL, NULL, "TcpListener"};
static const char *const CONN_OUT[] = {NULL, NULL, "TcpConn"};
static const char *const LISTENER[] = {"TcpListener", "TcpConn"};
static const char *const LISTENER_INT[] = {"TcpListener", NULL};
static const char *const CONN[] = {"TcpConn", NULL, NULL};

const vm_native std_net_natives[] = {
    STD_TYPED("net.listen", "si", 'T', LISTENER_OUT, n_listen),
    STD_TYPED("net.connect", "si", 'T', CONN_OUT, n_connect),
    STD_TYPED("__net_accept", "T", 'T', LISTENER, n_accept),
    STD_TYPED("__net_port", "T", 'i', LISTENER_INT, n_port),
    STD_TYPED("__net_close_listener", "T", 'v', LISTENER_INT, n_close),
    STD_TYPED("__net_read", "Ti", 's', CONN, n_read),
    STD_TYPED("__net_write", "Ts", 'v', CONN, n_write),
    STD_TYPED("__net_timeout", "Ti", 'v', CONN, n_timeout),
    STD_TYPED("__net_peer", "T", 's', CONN, n_peer),
    STD_TYPED("__net_close", "T", 'v', CONN, n_close),
};
const size_t std_net_count = sizeof std_net_natives / sizeof std_net_natives[0];
