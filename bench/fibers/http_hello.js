// The same server as examples/http_hello.kn, on node's http module: GET /
// answers "hello", anything else 404; keep-alive as node does it.
const http = require('http');
const port = parseInt(process.argv[2] || '8080');
http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/') {
    res.writeHead(200, {'Content-Type': 'text/plain', 'Content-Length': 5});
    res.end('hello');
  } else {
    res.writeHead(404, {'Content-Type': 'text/plain', 'Content-Length': 10});
    res.end('not found\n');
  }
}).listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}/`));
