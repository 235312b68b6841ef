;; Never returns: for -W timeout and -W fuel.
(module
  (func (export "_start")
    (loop (br 0))))
