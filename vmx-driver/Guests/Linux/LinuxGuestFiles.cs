// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// The kernel, initramfs and System.map that <c>./build.sh deps</c> puts in the repository's <c>.cache/linux</c>
/// folder: found from the environment variable <see cref="DirectoryVariable"/>, else by looking upwards from the
/// program's folder.
/// </summary>
public static class LinuxGuestFiles
{
    /// <summary>Overrides where the files are.</summary>
    public const string DirectoryVariable = "HYPERDBG_LINUX_DIR";

    /// <summary>The kernel's file name in the folder.</summary>
    public const string KernelFile = "vmlinuz";

    /// <summary>The initramfs's file name in the folder.</summary>
    public const string InitramfsFile = "initramfs.cpio.gz";

    /// <summary>The symbol map's file name in the folder.</summary>
    public const string SystemMapFile = "System.map";

    private static readonly string s_relative = Path.Combine(".cache", "linux");

    /// <summary>The folder, or null when no folder holds a kernel.</summary>
    public static string? FindDirectory()
    {
        string? configured = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, s_relative);
            if (File.Exists(Path.Combine(candidate, KernelFile)))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The folder.</summary>
    /// <exception cref="GuestImageException">None was found; the message says how to get one.</exception>
    public static string Directory() => FindDirectory() ?? throw new GuestImageException(
        $"The guest 'linux' uses the kernel that './build.sh deps' downloads into {s_relative} of the repository, and none was found " +
        $"(looked upwards from {AppContext.BaseDirectory}; set {DirectoryVariable} to another folder). Run './build.sh deps', or give the files: " +
        "linux:PATH/vmlinuz,initrd=PATH");
}
