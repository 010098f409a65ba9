-- wrk script: the chat completion of chat.lua, with the response cache bypassed.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
wrk.headers["Cache-Control"] = "no-cache, no-store"
wrk.body = '{"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Give me one word for happy."}], "temperature": 0}'
