-- wrk script: one card payment per request, as a merchant's server makes them: create a
-- PaymentIntent for a stored card with confirm=true and automatic capture (secret key).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KESSAI_SK")
wrk.body = "amount=1980&currency=jpy&confirm=true&payment_method=" .. os.getenv("KESSAI_PM")

dofile("benchmarks/report.lua")
