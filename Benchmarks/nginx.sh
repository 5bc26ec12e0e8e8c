# Sourced by delivery.sh and pages.sh.
# start_nginx WORK PORT — nginx on 127.0.0.1:PORT answering 204 to everything, its
# configuration and pid under WORK (WORK/nginx.conf, WORK/nginx.pid).
start_nginx() {
  mkdir -p "$1/nginx"
  cat > "$1/nginx.conf" <<NGINX
worker_processes 1;
pid $1/nginx.pid;
error_log $1/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $1/nginx;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$2; location / { return 204; } }
}
NGINX
  nginx -c "$1/nginx.conf" -p "$1/nginx"
  sleep 0.5
}
