fn main() {
    std::process::exit(dockhand_tray::run());
}
