# Applies the environment the image declares (recorded by `reactor-env record`) to login shells: Debian's
# /etc/profile has just reset PATH, and `env -i bash -l` (an editor probing the user's environment) starts
# from nothing. PATH becomes the image's PATH followed by whatever else PATH held; another variable is set
# only where the caller has not set it, so `docker run -e NAME=value` still wins. Entries under /home
# belong to one user: a user other than their owner (root in `sudo -i`) does not get them.
if [ -r /etc/reactor/environment ]; then
    reactor_home=$(getent passwd "$(id -u)" | cut -d: -f6)
    # login(1) would have set HOME; `env -i bash -l` has none, and ~/.profile then puts "$HOME/bin" =
    # /bin first on PATH.
    if [ -z "${HOME-}" ] && [ -n "${reactor_home}" ]; then export HOME="${reactor_home}"; fi
    reactor_user_value() {
        case "$1" in
            /home/*) case "$1/" in "${reactor_home}"/*) return 0 ;; *) return 1 ;; esac ;;
        esac
        return 0
    }
    reactor_path=
    while IFS= read -r reactor_line; do
        reactor_name=${reactor_line%%=*}
        reactor_value=${reactor_line#*=}
        if [ "${reactor_name}" = PATH ]; then
            reactor_path=${reactor_value}
        elif eval "[ -z \"\${${reactor_name}+set}\" ]" && reactor_user_value "${reactor_value}"; then
            export "${reactor_name}=${reactor_value}"
        fi
    done < /etc/reactor/environment
    if [ -n "${reactor_path}" ]; then
        reactor_new_path=
        reactor_ifs=${IFS}
        IFS=:
        for reactor_entry in ${reactor_path} ${PATH-}; do
            reactor_user_value "${reactor_entry}" || continue
            case ":${reactor_new_path}:" in *":${reactor_entry}:"*) ;; *) reactor_new_path=${reactor_new_path:+${reactor_new_path}:}${reactor_entry} ;; esac
        done
        IFS=${reactor_ifs}
        export PATH="${reactor_new_path}"
    fi
    unset reactor_home reactor_path reactor_line reactor_name reactor_value reactor_new_path reactor_ifs reactor_entry
    unset -f reactor_user_value
fi
