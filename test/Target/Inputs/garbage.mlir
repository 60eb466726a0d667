garbage ÿş {{{ ]]
