// The whole public API of tcpsocket.
#pragma once

#include "tcpsocket/address.hpp"
#include "tcpsocket/app_policy.hpp"
#include "tcpsocket/errors.hpp"
#include "tcpsocket/event_loop.hpp"
#include "tcpsocket/events.hpp"
#include "tcpsocket/options.hpp"
#include "tcpsocket/proxy_protocol.hpp"
#include "tcpsocket/tcp_server_socket.hpp"
#include "tcpsocket/tcp_socket.hpp"
#include "tcpsocket/version.hpp"
