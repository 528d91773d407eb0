-- wrk script: one card payment per request, as a merchant's server makes them: create a
-- PaymentIntent for a stored card with confirm=true and automatic capture (secret key).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KESSAI_SK")
wrk.body = "amount=1980&currency=jpy&confirm=true&payment_method=" .. os.getenv("KESSAI_PM")

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
    summary.requests, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
