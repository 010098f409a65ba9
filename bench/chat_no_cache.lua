-- wrk script: a small chat completion with the response cache bypassed and a different prompt each
-- time, so no per-text memo (PII analysis, cache) makes the miss path look cheaper than it is. Each run
-- names itself with letters from the clock, so consecutive runs (warm-up, c=1, c=10) never repeat a
-- prompt, and the counter stays a short number as in a typical prompt.
-- With BENCH_STREAM=1 in the environment: a streamed completion of 24 chunks (role, 22 pieces of the
-- echoed prompt, finish), a prompt of the same length each time.
-- With BENCH_STORE=1: the cache at its defaults (no Cache-Control): each miss is looked up and its answer, checked
-- by the PII firewall, stored, as a user's misses are.
-- With BENCH_HISTORY=1: a chat of 20 messages, the same 19 resent each time with a new question, as
-- chat apps call (the same history as `bench/instructions.py --paths history`).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
if os.getenv("BENCH_STORE") ~= "1" then
  wrk.headers["Cache-Control"] = "no-cache, no-store"
end
local stream = os.getenv("BENCH_STREAM") == "1"
local history = ""
if os.getenv("BENCH_HISTORY") == "1" then
  history = '{"role": "system", "content": "You are a patient assistant who explains how to set up a home network."}, '
  for turn = 0, 18 do
    local role = turn % 2 == 0 and "user" or "assistant"
    local text = string.format("Turn %d: ", turn)
      .. string.rep("the router sits in the hall and the signal is weak upstairs, so what now? ", 3)
    history = history .. '{"role": "' .. role .. '", "content": "' .. text .. '"}, '
  end
end
local run = ""
local clock = os.time()
for _ = 1, 7 do
  run = run .. string.char(97 + clock % 26)
  clock = math.floor(clock / 26)
end
local counter = 0
request = function()
  counter = counter + 1
  local body
  if stream then
    local prompt = string.format("Tell me a story named %s-%06d, keep it short and calm; a single line here.", run, counter)
    body = '{"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "' .. prompt .. '"}]}'
  elseif history ~= "" then
    body = '{"model": "gpt-4o-mini", "messages": [' .. history
      .. '{"role": "user", "content": "And the next step, ' .. run .. '-' .. counter .. '?"}]}'
  else
    body = '{"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "You are terse."}, '
      .. '{"role": "user", "content": "Give me one word for happy, variant ' .. run .. '-' .. counter .. '."}], "temperature": 0}'
  end
  return wrk.format(nil, nil, nil, body)
end
