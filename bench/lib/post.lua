-- wrk script: POST one small chat completion, as every client workload does.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"gpt-mock","messages":[{"role":"user","content":"Hello"}],"max_tokens":16}'
