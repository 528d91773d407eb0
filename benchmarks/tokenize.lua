-- wrk script: POST /v1/payment_methods with a publishable key, as a buyer's browser would.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KESSAI_PK")
wrk.body = "type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2030&card[cvc]=739"

dofile("benchmarks/report.lua")
