require ["variables", "relational", "comparator-i;ascii-numeric", "fileinto"];
set "x" "";
set "y" "a";
if string :count "eq" :comparator "i;ascii-numeric" ["${x}", "${y}", "b"] "2" { fileinto "CountTwo"; }
