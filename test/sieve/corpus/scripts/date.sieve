require ["date", "fileinto", "relational"];
if date :is :zone "+0000" "date" "hour" "08" { fileinto "Hour8"; }
if date :value "ge" :originalzone "date" "date" "2024-10-04" { fileinto "Late"; }
if date :is :originalzone "date" "weekday" "3" { fileinto "Wednesday"; }
if date :is :zone "-0500" "date" "zone" "-0500" { fileinto "Zone"; }
