/* callback */
listing_cb([
{ "name":"sub", "type":"directory", "mtime":"Mon, 23 Nov 2026 10:00:00 GMT" },
{ "name":"<tag>.txt", "type":"file", "mtime":"Mon, 23 Nov 2026 10:05:00 GMT", "size":977 },
{ "name":"a b.txt", "type":"file", "mtime":"Mon, 23 Nov 2026 10:01:05 GMT", "size":12345 },
{ "name":"c#1.txt", "type":"file", "mtime":"Mon, 23 Nov 2026 10:02:00 GMT", "size":0 },
{ "name":"q?.txt", "type":"file", "mtime":"Mon, 23 Nov 2026 10:03:00 GMT", "size":1258291 },
{ "name":"this-is-a-very-long-file-name-that-nginx-truncates-in-the-listing.bin", "type":"file", "mtime":"Thu, 02 Jan 2025 03:04:00 GMT", "size":3221225472 },
{ "name":"x&y:z.txt", "type":"file", "mtime":"Mon, 23 Nov 2026 10:06:00 GMT", "size":10000 },
{ "name":"фото.jpg", "type":"file", "mtime":"Tue, 24 Nov 2026 23:59:00 GMT", "size":5000000 }
]);