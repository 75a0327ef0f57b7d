require ["virustest", "fileinto", "relational", "comparator-i;ascii-numeric"];
if virustest :value "ge" :comparator "i;ascii-numeric" "4" { fileinto "Infected"; }
if virustest :value "eq" :comparator "i;ascii-numeric" "1" { fileinto "Clean"; }
