require ["spamtest", "fileinto", "relational", "comparator-i;ascii-numeric"];
if spamtest :value "ge" :comparator "i;ascii-numeric" "8" { fileinto "Spam"; }
elsif spamtest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "Untested"; }
