// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// Finds and loads the CPU engine library, once per process, and refuses one older than Unicorn 2.1 (2.0 ignores guest
/// paging: upstream issue #1953). Where it looks, in order:
/// <list type="number">
/// <item><see cref="LibraryOverrideVariable"/>, when set: that file and nothing else.</item>
/// <item>The library next to this assembly: the build copies Debian 13's <c>libunicorn2t64</c>, which
/// <c>./build.sh deps</c> fetched, into every build output.</item>
/// <item>The system's library by its name (<c>libunicorn.so.2</c>, <c>unicorn.dll</c> on PATH), used only if it is 2.1 or later.</item>
/// </list>
/// </summary>
internal static unsafe class UcLibrary
{
    /// <summary>An environment variable naming the library file to load instead (a custom Unicorn build).</summary>
    public const string LibraryOverrideVariable = "HYPERDBG_UNICORN_LIBRARY";

    /// <summary>The Debian package that provides a suitable library (Debian 13; it runs on Debian 12).</summary>
    public const string DebianPackage = "libunicorn2t64";

    /// <summary>The oldest supported version, as (major, minor).</summary>
    public static readonly (uint Major, uint Minor) MinimumVersion = (2, 1);

    private static readonly Lazy<Loaded> s_loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The file name of the library on this OS.</summary>
    public static string FileName { get; } = OperatingSystem.IsWindows() ? "unicorn.dll" : OperatingSystem.IsMacOS() ? "libunicorn.2.dylib" : "libunicorn.so.2";

    /// <summary>Where the library was loaded from (a path, or the system name it was found by).</summary>
    public static string Source => Get().Source;

    /// <summary>The library's version word from uc_version: major, minor, patch and extra in bytes 3 to 0.</summary>
    public static uint VersionWord => Get().Version;

    /// <summary>The loaded library's handle.</summary>
    /// <exception cref="CpuEngineUnavailableException">No suitable library was found; the message says what to install.</exception>
    public static IntPtr Handle => Get().Handle;

    /// <summary>"major.minor.patch" of a uc_version word.</summary>
    public static string FormatVersion(uint word) => $"{word >> 24}.{(word >> 16) & 0xFF}.{(word >> 8) & 0xFF}";

    /// <summary>True when a uc_version word is at least <see cref="MinimumVersion"/>.</summary>
    public static bool IsSupported(uint word) =>
        (word >> 24, (word >> 16) & 0xFF) is var (major, minor) && (major > MinimumVersion.Major || (major == MinimumVersion.Major && minor >= MinimumVersion.Minor));

    private static Loaded Get()
    {
        Loaded loaded = s_loaded.Value;
        return loaded.Error is null ? loaded : throw new CpuEngineUnavailableException(loaded.Error);
    }

    private static string Remedy =>
        OperatingSystem.IsWindows()
            ? "Put unicorn.dll of Unicorn 2.1 or later (x64) on PATH or next to the program"
            : $"Run './build.sh deps', which fetches Debian 13's package {DebianPackage} (Unicorn 2.1; it runs on Debian 12) and the build "
              + $"copies its library next to the program, or set {LibraryOverrideVariable} to a {FileName} of Unicorn 2.1 or later";

    private static Loaded Load()
    {
        string? overridden = Environment.GetEnvironmentVariable(LibraryOverrideVariable);
        if (!string.IsNullOrEmpty(overridden))
        {
            return NativeLibrary.TryLoad(overridden, out IntPtr h)
                ? Check(h, $"{LibraryOverrideVariable}={overridden}")
                : Loaded.Failed($"The CPU engine library {LibraryOverrideVariable}={overridden} cannot be loaded. {Remedy}.");
        }

        string? folder = Path.GetDirectoryName(typeof(UcLibrary).Assembly.Location);
        string bundled = Path.Combine(string.IsNullOrEmpty(folder) ? AppContext.BaseDirectory : folder, FileName);
        Loaded? tooOld = null;
        if (File.Exists(bundled))
        {
            Loaded found = NativeLibrary.TryLoad(bundled, out IntPtr h)
                ? Check(h, bundled)
                : Loaded.Failed($"The CPU engine library {bundled} cannot be loaded. {Remedy}.");
            if (found.Error is null)
            {
                return found;
            }

            tooOld = found;
        }

        if (NativeLibrary.TryLoad(FileName, out IntPtr system))
        {
            Loaded found = Check(system, FileName);
            return found.Error is null || tooOld is null ? found : tooOld;
        }

        return tooOld ?? Loaded.Failed($"The CPU engine library (Unicorn 2.1 or later, {FileName}) was not found. {Remedy}.");
    }

    /// <summary>Keeps a loaded library if its version is supported; frees it and explains otherwise.</summary>
    private static Loaded Check(IntPtr handle, string source)
    {
        if (!NativeLibrary.TryGetExport(handle, "uc_version", out IntPtr export))
        {
            NativeLibrary.Free(handle);
            return Loaded.Failed($"The CPU engine library {source} is not Unicorn (it has no uc_version). {Remedy}.");
        }

        uint major, minor;
        uint word = ((delegate* unmanaged[Cdecl]<uint*, uint*, uint>)export)(&major, &minor);
        if (!IsSupported(word))
        {
            NativeLibrary.Free(handle);
            return Loaded.Failed(
                $"The CPU engine library {source} is Unicorn {FormatVersion(word)}; HyperDbgRemote needs Unicorn 2.1 or later "
                + $"(2.0 ignores guest paging). {Remedy}.");
        }

        return new Loaded(handle, source, word, null);
    }

    private sealed record Loaded(IntPtr Handle, string Source, uint Version, string? Error)
    {
        public static Loaded Failed(string error) => new(IntPtr.Zero, string.Empty, 0, error);
    }
}
