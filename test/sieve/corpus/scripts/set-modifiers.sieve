require ["variables", "fileinto"];
set :upper "a" "abc";
set :lowerfirst "b" "XYZ";
set :length "c" "hello";
set :upperfirst :lower "d" "wORLD";
set :quotewildcard "e" "a*b";
if string :is "${a}-${b}-${c}-${d}" "ABC-xYZ-5-World" { fileinto "Modifiers"; }
if string :matches "a*b" "${e}" { fileinto "Quoted"; }
if string :is "${unknown}" "" { fileinto "Empty"; }
