-- wrk script: POST chat-status callbacks with a unique message id per request.
-- wrk -t2 -c64 -d15s -s bench/wrk_chat_status.lua http://127.0.0.1:PORT/callbacks/chat-status/TOKEN
-- WRK_DELAY_MS=N: each connection waits N ms between its requests (a paced load, not a saturating one).
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")
local counter = 0
local thread_id = 0
setup = function(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"status":"DELIVERED","message_id":"wrk-%d-%d","time":"2021-12-15T13:55:03.953",' ..
    '"phone_number":"84968501615","channel":"Viber","time_zone":"GMT/UTC +7"}', tid, counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
if pause > 0 then
  delay = function()
    return pause
  end
end
