# Model inputs: features from the store (@fs.view.feature) and request fields (@req.field).
# The same program runs in training (pandas or Spark) and per request in serving.
orders    = fill(@fs.customer_stats.orders_30d, 0)
avg_value = fill(@fs.customer_stats.avg_order_value_30d, 0.0)
segment   = categorical(@fs.customer_stats.segment)   # vocabulary fitted at training
hour      = hour_of_day(@req.ordered_at)
on_app    = if @req.channel == "app" then 1 else 0
