// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>The Debian kernel, initramfs and System.map that ./build.sh deps fetched; tests skip without them.</summary>
internal static class LinuxFiles
{
    public static string Directory() => LinuxGuestFiles.FindDirectory() is string dir && File.Exists(Path.Combine(dir, LinuxGuestFiles.KernelFile))
        ? dir
        : Ignore();

    public static string KernelOrIgnore() => Path.Combine(Directory(), LinuxGuestFiles.KernelFile);

    public static string InitramfsOrIgnore() => Existing(Path.Combine(Directory(), LinuxGuestFiles.InitramfsFile));

    public static string SystemMapOrIgnore() => Existing(Path.Combine(Directory(), LinuxGuestFiles.SystemMapFile));

    private static string Existing(string path) => File.Exists(path) ? path : Ignore();

    private static string Ignore()
    {
        Assert.Ignore("skipped: the Linux guest files are missing (run ./build.sh deps)");
        return string.Empty;
    }
}
