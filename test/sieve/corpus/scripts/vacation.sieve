require "vacation";
if header :contains "subject" "meeting" {
  vacation :days 3 :subject "Out of office" :addresses ["bob@example.com"] "I am away until Monday.";
}
