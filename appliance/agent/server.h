// The agent's request loop: reads frames from the channel, runs one op at a
// time and answers every request, malformed ones included, so a bad
// request never stops the agent.
#pragma once

#include <deque>
#include <string>

#include "appliance/agent/devices.h"
#include "appliance/agent/op.h"
#include "appliance/proto/frame.h"

namespace dk::agent {

// Makes Server::run return after the current request's reply (op "shutdown").
void request_shutdown();
// The device map of the running server (for the ops that list devices).
const DeviceMap& current_devices();

class Server {
 public:
  Server(proto::Channel& ch, DeviceMap devices);
  // Serves until the input ends or a shutdown request was answered.
  // Returns 0, or 1 when the channel failed.
  int run();

  // For the request context (server.cc).
  proto::Channel& channel() { return m_ch; }
  DeviceMap& devices() { return m_devices; }
  // The next frame: one put aside while an op polled for cancellation, or a
  // fresh one from the channel.
  Result<proto::Frame> next_frame();
  // Reads frames waiting on the channel without blocking; a cancel for
  // `id` returns true, anything else is kept for later.
  Result<bool> poll_cancel(uint64_t id);
  void put_aside(proto::Frame f) { m_pending.push_back(std::move(f)); }

 private:
  Result<void> serve(proto::Frame f);
  proto::Channel& m_ch;
  DeviceMap m_devices;
  std::deque<proto::Frame> m_pending;
};

}  // namespace dk::agent
