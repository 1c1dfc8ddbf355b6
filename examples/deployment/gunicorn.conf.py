# gunicorn -c gunicorn.conf.py app:app
bind = "127.0.0.1:8000"
# One worker per gunicorn process: a Socket.IO session lives in one process, and
# gunicorn's load balancing across workers is not sticky. Run more gunicorn
# processes on other ports behind a sticky proxy instead (see nginx.conf).
workers = 1
# gevent's worker; WebSocket through simple-websocket. Or gevent-websocket's:
# worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
worker_class = "gevent"
worker_connections = 1000
