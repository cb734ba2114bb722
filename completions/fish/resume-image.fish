function __resume-image_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __resume-image_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __resume-image_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __resume-image_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __resume-image_parse_tokens -S
    set -l unparsed_tokens (__resume-image_tokens -pc)
    switch $unparsed_tokens[1]
    case 'resume-image'
        __resume-image_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'create'
            __resume-image_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'kernel'
                __resume-image_parse_subcommand 1 'kernel=' 'initrd=' 'cmdline=' 'no-kernel-check' 'reusable' 'chunk-size=' 'force' 'sign=' 'version' 'h/help'
            case 'segments'
                __resume-image_parse_subcommand 1 'elf=' 'entry=' 'reusable' 'chunk-size=' 'force' 'sign=' 'version' 'h/help'
            end
        case 'capture'
            __resume-image_parse_subcommand 1 'image-size=' 'reusable' 'force' 'sign=' 'version' 'h/help'
        case 'hibernate'
            __resume-image_parse_subcommand 1 'kexec-jump' 'hibernate-kernel=' 'initrd=' 'checkpoint' 'window=' 'append=' 'force' 'keep-page-cache' 'keep-hibernate-kernel=' 'sign=' 'version' 'h/help'
        case 'inspect'
            __resume-image_parse_subcommand 1 'json' 'version' 'h/help'
        case 'verify'
            __resume-image_parse_subcommand 1 'threads=' 'key=+' 'version' 'h/help'
        case 'extract'
            __resume-image_parse_subcommand 1 'entry=' 'o/output=' 'version' 'h/help'
        case 'invalidate'
            __resume-image_parse_subcommand 1 'version' 'h/help'
        case 'keygen'
            __resume-image_parse_subcommand 1 'force' 'version' 'h/help'
        case 'help'
            __resume-image_parse_subcommand -r 1 'version'
        end
    end
end

function __resume-image_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __resume-image_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __resume-image_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __resume-image_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__resume-image_tokens -p)
    if test -z "$(__resume-image_tokens -t)"
        set -l index (count (__resume-image_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'resume-image' -f
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image" version' -l 'version' -d 'Show the version.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_positional "resume-image" -eq 1' -fa 'create' -d 'Create an image.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_positional "resume-image" -eq 1' -fa 'capture' -d 'Hibernate: save this running system into TARGET as a snapshot image through /dev/snapshot, then power off.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_positional "resume-image" -eq 1' -fa 'hibernate' -d 'Hibernate (or checkpoint) this system through a kexec jump to a hibernate kernel that saves it into TARGET.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_positional "resume-image" -eq 1' -fa 'inspect' -d 'Show an image\'s header, entries, sizes, ratio and state (checks the header and table, not every chunk).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_positional "resume-image" -eq 1' -fa 'verify' -d 'Check everything a restore would: header, state, table and every chunk. Exit 0 valid, 1 not (reason on stderr).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_positional "resume-image" -eq 1' -fa 'extract' -d 'Write one entry of an image (kernel, initrd, cmdline, stream, or segment N) to a file, every chunk checked.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_positional "resume-image" -eq 1' -fa 'invalidate' -d 'Mark an image consumed, so it is never resumed (one 8-byte write, synced).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_positional "resume-image" -eq 1' -fa 'keygen' -d 'Make an Ed25519 key pair for signing images: NAME (secret, mode 0600) and NAME.pub.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_positional "resume-image" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create" version' -l 'version' -d 'Show the version.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_positional "resume-image create" -eq 1' -fa 'kernel' -d 'An A/B swap image: a bzImage, an optional initrd and a command line (restored with kexec_file_load).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_positional "resume-image create" -eq 1' -fa 'segments' -d 'Raw physical memory segments from an ELF\'s PT_LOAD headers and an entry address (restored with kexec_load).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create kernel" kernel' -l 'kernel' -d 'The kernel (a bzImage, e.g. /boot/vmlinuz-VERSION).' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create kernel" initrd' -l 'initrd' -d 'The initrd to start it with.' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create kernel" cmdline' -l 'cmdline' -d 'The command line kernel B gets (at most 4096 bytes).' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create kernel" no-kernel-check' -l 'no-kernel-check' -d 'Accept a kernel file that has no x86 boot header (for testing the restore path\'s refusal).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create kernel" reusable' -l 'reusable' -d 'The image may be resumed more than once (default: one-shot, marked consumed when used).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create kernel" chunk-size' -l 'chunk-size' -d 'Raw bytes per chunk: a power of two from 4096 to 4194304.' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create kernel" force' -l 'force' -d 'Write over a block device even where libblkid sees a filesystem, swap or partition table (erasing those signatures).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create kernel" sign' -l 'sign' -d 'Sign the image with this secret key file (from `resume-image keygen`).' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create kernel" version' -l 'version' -d 'Show the version.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create kernel" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create segments" elf' -l 'elf' -d 'The ELF64 executable; segments are placed at their physical addresses.' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create segments" entry' -l 'entry' -d 'The entry address (default: the ELF\'s e_entry). Decimal or 0x hex.' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create segments" reusable' -l 'reusable' -d 'The image may be resumed more than once (default: one-shot, marked consumed when used).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create segments" chunk-size' -l 'chunk-size' -d 'Raw bytes per chunk: a power of two from 4096 to 4194304.' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create segments" force' -l 'force' -d 'Write over a block device even where libblkid sees a filesystem, swap or partition table (erasing those signatures).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create segments" sign' -l 'sign' -d 'Sign the image with this secret key file (from `resume-image keygen`).' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create segments" version' -l 'version' -d 'Show the version.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image create segments" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image capture" image-size' -l 'image-size' -d 'The image size the kernel aims for, in MiB (it frees memory to reach it; 0: as small as it can). Default: the kernel\'s.' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image capture" reusable' -l 'reusable' -d 'The image may be resumed more than once (default: one-shot).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image capture" force' -l 'force' -d 'Write over TARGET even where libblkid sees a filesystem, swap or partition table.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image capture" sign' -l 'sign' -d 'Sign the image with this secret key file (from `resume-image keygen`).' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image capture" version' -l 'version' -d 'Show the version.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image capture" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image hibernate" kexec-jump' -l 'kexec-jump' -d 'Hibernate through a kexec jump to a hibernate kernel (required).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image hibernate" hibernate-kernel' -l 'hibernate-kernel' -d 'The hibernate kernel B (default: /boot/vmlinuz-$(uname -r)).' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image hibernate" initrd' -l 'initrd' -d 'B\'s initrd, which must carry resume-agent (default: /boot/initrd.img-$(uname -r)).' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image hibernate" checkpoint' -l 'checkpoint' -d 'Save a checkpoint: B saves this system, then jumps back to it (default: B powers off).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image hibernate" window' -l 'window' -d 'B\'s window, first-last byte in hex as /proc/iomem prints it (default: 96 MiB of RAM this kernel does not use).' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image hibernate" append' -l 'append' -d 'More parameters for B\'s command line.' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image hibernate" force' -l 'force' -d 'Write over TARGET even where libblkid sees a filesystem, swap or partition table.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image hibernate" keep-page-cache' -l 'keep-page-cache' -d 'Leave the page cache in memory (and in the image).'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image hibernate" keep-hibernate-kernel' -l 'keep-hibernate-kernel' -d 'Keep the hibernate kernel in this file: boot it once, then resume it from here on every later jump.' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image hibernate" sign' -l 'sign' -d 'Have B sign the memory image (and sign the kept hibernate kernel\'s file) with this secret key file (from `resume-image keygen`); the key reaches B in memory only.' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image hibernate" version' -l 'version' -d 'Show the version.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image hibernate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image inspect" json' -l 'json' -d 'Print JSON.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image inspect" version' -l 'version' -d 'Show the version.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image inspect" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image verify" threads' -l 'threads' -d 'Decoding threads (default: the online CPUs).' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image verify"' -l 'key' -d 'Accept only an image signed by this public key file (.pub); repeat for several.' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image verify" version' -l 'version' -d 'Show the version.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image verify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image extract" entry' -l 'entry' -d 'Which entry: kernel, initrd, cmdline, stream, or a segment\'s number.' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image extract" o output' -l 'output' -s 'o' -d 'Where to write it.' -rfka ''
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image extract" version' -l 'version' -d 'Show the version.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image extract" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image invalidate" version' -l 'version' -d 'Show the version.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image invalidate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image keygen" force' -l 'force' -d 'Overwrite existing key files.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image keygen" version' -l 'version' -d 'Show the version.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image keygen" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'resume-image' -n '__resume-image_should_offer_completions_for_flags_or_options "resume-image help" version' -l 'version' -d 'Show the version.'
