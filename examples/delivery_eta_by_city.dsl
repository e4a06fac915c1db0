# The delivery-time model's inputs (delivery_eta.dsl), and the partitions of its by-city
# variant: the restaurant's region, then its city (categorical: the vocabularies name them).
hour        = hour_of_day(@req.placed_at)
weekend     = day_of_week(@req.placed_at) >= 5
rush        = if hour in [11, 12, 13, 18, 19, 20] then 1 else 0
items       = @req.num_items
prep_7d     = fill(@fs.restaurant_stats_7d.avg_prep_time_7d, 15.0)
prep_recent = coalesce(@fs.restaurant_realtime.avg_prep_time_1h, prep_7d)
orders_1h   = fill(@fs.restaurant_realtime.orders_1h, 0)
load        = float(orders_1h) / float(@fs.restaurant_profile.kitchen_capacity)
distance_km = haversine(@req.customer_lat, @req.customer_lon, @fs.restaurant_profile.lat, @fs.restaurant_profile.lon)
cuisine     = categorical(@fs.restaurant_profile.cuisine)
prep_z      = standardize(prep_7d)
region      = categorical(@fs.restaurant_profile.region)
city        = categorical(@fs.restaurant_profile.city)
