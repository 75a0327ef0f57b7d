require ["date", "relational", "fileinto"];
if currentdate :value "ge" "year" "2024" { fileinto "Now"; }
if currentdate :value "lt" "date" "2000-01-01" { fileinto "Past"; }
