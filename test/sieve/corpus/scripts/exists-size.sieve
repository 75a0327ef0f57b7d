require "fileinto";
if size :over 10K { fileinto "Large"; }
if allof (exists ["from", "date"], not exists "x-priority") { fileinto "NoPriority"; }
if size :under 300 { fileinto "Tiny"; }
